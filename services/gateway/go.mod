module github.com/attest-ehr/attest/services/gateway

go 1.26.0
