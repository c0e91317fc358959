module github.com/attest-ehr/attest/services/reporting

go 1.26.0
