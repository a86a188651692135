package weights

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sort"
	"sync"
)

// CheckFinite scans every declared tensor for NaN or ±Inf, in parallel over
// tensors, and names the first bad tensor (in name order) and element. A
// corrupted or badly converted checkpoint fails here instead of producing
// black images after minutes of work.
func (s *Set) CheckFinite() error {
	names := make([]string, 0, len(s.used))
	for n := range s.used {
		names = append(names, n)
	}
	sort.Strings(names)
	bad := make([]int, len(names)) // index+1 of the first non-finite element
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				in, f, _ := s.Info(names[i])
				b, _, _ := f.Bytes(names[i])
				bad[i] = firstNonFinite(b, in.DType)
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, b := range bad {
		if b > 0 {
			in, f, _ := s.Info(names[i])
			return fmt.Errorf("%s: tensor %q holds a non-finite value (NaN or Inf) at element %d of %v", f.Path, names[i], b-1, in.Shape)
		}
	}
	return nil
}

// firstNonFinite returns 1 + the index of the first NaN/Inf, or 0. It tests
// the exponent bits: all ones means Inf or NaN in every format.
func firstNonFinite(b []byte, dt DType) int {
	switch dt {
	case F32:
		return firstAllOnes(b, 4, 0x7f800000)
	case F16:
		return firstAllOnes(b, 2, 0x7c00)
	case BF16:
		return firstAllOnes(b, 2, 0x7f80)
	}
	return 0
}

// firstAllOnes returns 1 + the index of the first little-endian element of
// size bytes (2 or 4) whose bits under mask are all set, or 0. It tests eight
// bytes at a time (32 per round): with t = (x&M)^M per lane, a lane matches when t is zero,
// and (t-1)&^t has its top bit set only then (mask never holds a lane's top
// bit, so no lane borrows into the next unless a lower one is zero). A word
// that may match is searched element by element.
func firstAllOnes(b []byte, size int, mask uint32) int {
	var m, ones, tops uint64
	for lane := 0; lane < 8; lane += size {
		m |= uint64(mask) << (8 * lane)
		ones |= 1 << (8 * lane)
		tops |= 1 << (8*(lane+size) - 1)
	}
	hit := func(x uint64) uint64 { t := x&m ^ m; return (t - ones) &^ t & tops }
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w := b[i : i+32]
		le := binary.LittleEndian
		if hit(le.Uint64(w))|hit(le.Uint64(w[8:]))|hit(le.Uint64(w[16:]))|hit(le.Uint64(w[24:])) != 0 {
			break
		}
	}
	for ; i+size <= len(b); i += size {
		var x uint32
		if size == 2 {
			x = uint32(binary.LittleEndian.Uint16(b[i:]))
		} else {
			x = binary.LittleEndian.Uint32(b[i:])
		}
		if x&mask == mask {
			return i/size + 1
		}
	}
	return 0
}
