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
		for i := 0; i+4 <= len(b); i += 4 {
			if binary.LittleEndian.Uint32(b[i:])&0x7f800000 == 0x7f800000 {
				return i/4 + 1
			}
		}
	case F16:
		for i := 0; i+2 <= len(b); i += 2 {
			if binary.LittleEndian.Uint16(b[i:])&0x7c00 == 0x7c00 {
				return i/2 + 1
			}
		}
	case BF16:
		for i := 0; i+2 <= len(b); i += 2 {
			if binary.LittleEndian.Uint16(b[i:])&0x7f80 == 0x7f80 {
				return i/2 + 1
			}
		}
	}
	return 0
}
