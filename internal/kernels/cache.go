package kernels

import (
	"strconv"
	"strings"
	"sync"
)

// llcOverride, if positive, replaces the detected size of the last-level
// cache (for tests).
var llcOverride int

// llcDetected is lastLevelCache, read once.
var llcDetected = sync.OnceValue(lastLevelCache)

// cacheLLC is the size in bytes of the CPU's last-level cache, 0 if
// unknown. Only block sizes depend on it, never a result.
func cacheLLC() int {
	if llcOverride > 0 {
		return llcOverride
	}
	return llcDetected()
}

// parseCacheSize reads a cache size as Linux's sysfs writes it ("32768K",
// "1M", "512"), in bytes; 0 if it is not one.
func parseCacheSize(s string) int {
	s = strings.TrimSpace(s)
	unit := 1
	switch {
	case strings.HasSuffix(s, "K"):
		unit, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		unit, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		unit, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n * unit
}
