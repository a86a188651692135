package cli

import "golang.org/x/sys/unix"

// ioctlGetTermios is the request that reads a terminal's settings.
const ioctlGetTermios = unix.TCGETS

// maxrssUnit is the unit of getrusage's Maxrss in bytes.
const maxrssUnit = 1024
