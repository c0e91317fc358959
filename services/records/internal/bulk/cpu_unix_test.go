//go:build unix

package bulk_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the whole test process has used, user and system: a
// benchmark's cost that other load on the machine does not inflate, unlike its
// wall-clock time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
