package export_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that nothing the exports use (maroto, the xmllint and pdftotext
// runs) leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
