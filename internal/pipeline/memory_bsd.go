//go:build darwin || freebsd

package pipeline

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// totalMemory is the machine's RAM in bytes (0 if unknown).
func totalMemory() int64 {
	name := "hw.physmem"
	if runtime.GOOS == "darwin" {
		name = "hw.memsize"
	}
	n, err := unix.SysctlUint64(name)
	if err != nil {
		return 0
	}
	return int64(n)
}
