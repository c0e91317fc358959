module github.com/attest-ehr/attest/services/messaging

go 1.26.0
