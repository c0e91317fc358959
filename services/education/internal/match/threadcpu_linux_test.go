package match_test

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is Linux's CLOCK_THREAD_CPUTIME_ID.
const clockThreadCPUTime = 3

// threadCPU is the CPU time the calling OS thread has used, to the nanosecond
// (clock_gettime(CLOCK_THREAD_CPUTIME_ID); getrusage's per-thread figure only moves
// at scheduler ticks). Around a call on a locked thread it measures the call's work
// without the time the thread spent preempted, which is what a loaded machine adds
// to wall-clock latency.
func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
