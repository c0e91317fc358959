module github.com/attest-ehr/attest/services/metrics

go 1.26.0
