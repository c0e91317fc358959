//go:build !linux

package match_test

import "time"

// threadCPU is not available here: only Linux reports a thread's own CPU time.
func threadCPU() (time.Duration, bool) { return 0, false }
