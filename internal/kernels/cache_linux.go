package kernels

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lastLevelCache is the size of the highest-level data or unified cache
// that sysfs lists for CPU 0, 0 if it lists none.
func lastLevelCache() int {
	dirs, _ := filepath.Glob("/sys/devices/system/cpu/cpu0/cache/index*")
	best, size := 0, 0
	for _, d := range dirs {
		read := func(f string) string {
			b, _ := os.ReadFile(filepath.Join(d, f))
			return strings.TrimSpace(string(b))
		}
		if read("type") == "Instruction" {
			continue
		}
		level, err := strconv.Atoi(read("level"))
		if err != nil || level <= best {
			continue
		}
		if s := parseCacheSize(read("size")); s > 0 {
			best, size = level, s
		}
	}
	return size
}
