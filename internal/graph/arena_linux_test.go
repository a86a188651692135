package graph

import (
	"math"
	"testing"
)

// TestReleasedArenasAreReused checks that a released mapped arena serves
// the next program: as it is for one of the same size (same memory, its
// old contents overwritten correctly), grown for a larger one and shrunk
// for a smaller one, with right results each time.
func TestReleasedArenasAreReused(t *testing.T) {
	DropArenas()
	defer DropArenas()
	w := make([]float32, 16)
	for i := range w {
		w[i] = float32(i%7)*0.1 - 0.3
	}
	run := func(rows, seed int) (base *float32) {
		t.Helper()
		p, err := Compile(NewBuilder(), chain(2, rows, w))
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]float32, rows*4), make([]float32, rows*4)
		for i := range x {
			x[i], y[i] = float32(i%13+seed)*0.1, float32(i%5+seed)-0.5
		}
		out, err := p.Run(x, y)
		if err != nil {
			t.Fatal(err)
		}
		want := reference(2, w, x, y)
		for i := range want {
			if math.Abs(float64(out[0][i]-want[i])) > 1e-5 {
				t.Fatalf("%d rows: out[%d] = %v, want %v", rows, i, out[0][i], want[i])
			}
		}
		if p.mapped == nil || p.mapped.b == nil {
			t.Fatalf("%d rows: the %d-byte arena is not mapped", rows, p.ArenaBytes())
		}
		base = &p.arena[0]
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		return base
	}
	first := run(1<<16, 0)
	if again := run(1<<16, 1); again != first {
		t.Error("a program of the same size did not get the released arena")
	}
	run(1<<18, 2) // grows the mapping (it may move)
	run(1<<17, 3) // shrinks it
	arenas.Lock()
	defer arenas.Unlock()
	if len(arenas.free) != 1 {
		t.Errorf("%d arenas kept, want the one passed from program to program", len(arenas.free))
	}
}
