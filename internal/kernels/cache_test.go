package kernels

import "testing"

func TestParseCacheSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{{"32768K\n", 32 << 20}, {"1M", 1 << 20}, {"2G", 2 << 30}, {"512", 512}, {"", 0}, {"K", 0}, {"12X", 0}, {"-4K", 0}} {
		if got := parseCacheSize(c.in); got != c.want {
			t.Errorf("parseCacheSize(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestWgRowBlock checks the rows per inverse transform: wgRows while the
// transformed weights fit in the last-level cache (or its size is
// unknown), else equal blocks of at most wgRowsWide rows.
func TestWgRowBlock(t *testing.T) {
	const llc = 32 << 20
	for _, c := range []struct{ mpad, mr, uBytes, llc, want int }{
		{516, 6, 32 << 20, llc, 48},    // fits
		{516, 6, 38 << 20, 0, 48},      // cache size unknown
		{516, 6, 38 << 20, llc, 108},   // VAE 512 ch: 5 blocks of 108 (the last 84)
		{324, 6, 45 << 20, llc, 108},   // 960 -> 320: 3 blocks
		{120, 6, 64 << 20, llc, 120},   // one block
		{128, 8, 64 << 20, llc, 64},    // two blocks of 64
		{1288, 8, 100 << 20, llc, 120}, // 11 blocks of 120 (the last 88)
		{12, 6, 64 << 20, llc, 12},     // fewer rows than wgRows
	} {
		if got := wgRowBlock(c.mpad, c.mr, c.uBytes, c.llc); got != c.want {
			t.Errorf("wgRowBlock(%d, %d, %d MiB, %d MiB) = %d, want %d", c.mpad, c.mr, c.uBytes>>20, c.llc>>20, got, c.want)
		}
	}
}
