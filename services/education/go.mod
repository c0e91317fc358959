module github.com/attest-ehr/attest/services/education

go 1.26.0
