module github.com/attest-ehr/attest/services/messaging

go 1.26.0

require github.com/getkin/kin-openapi v0.152.0
