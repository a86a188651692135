//go:build darwin || freebsd

package cli

import (
	"runtime"

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
