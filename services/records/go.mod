module github.com/attest-ehr/attest/services/records

go 1.26.0
