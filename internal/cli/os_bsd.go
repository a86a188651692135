//go:build darwin || freebsd

package cli

import (
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// ioctlGetTermios is the request that reads a terminal's settings.
const ioctlGetTermios = unix.TIOCGETA

// maxrssUnit is the unit of getrusage's Maxrss in bytes: bytes on macOS,
// KiB on FreeBSD.
var maxrssUnit int64 = 1024

func init() {
	if runtime.GOOS == "darwin" {
		maxrssUnit = 1
	}
}

// cpuName is the processor's brand string (sysctl machdep.cpu.brand_string
// on macOS, hw.model on FreeBSD), or "".
func cpuName() string {
	for _, key := range []string{"machdep.cpu.brand_string", "hw.model"} {
		if v, err := unix.Sysctl(key); err == nil && v != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
