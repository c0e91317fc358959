module github.com/attest-ehr/attest/services/platform

go 1.26.0
