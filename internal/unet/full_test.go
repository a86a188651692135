package unet

import (
	"math"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

// TestFullSizeStep runs one guided U-Net step (batch 2) at 512x512 on the
// full-size random-weight pipelines that scripts/mkmodel writes into
// models/ (opt-in: it skips when they have not been generated, since they
// are never committed). It checks the output is finite and reports time and
// memory; speed targets live in benchmarks, not here.
func TestFullSizeStep(t *testing.T) {
	for _, dir := range []string{"random-sd15", "random-sd21"} {
		t.Run(dir, func(t *testing.T) {
			path := golden.Root(t) + "/models/" + dir
			if _, err := os.Stat(path + "/model_index.json"); err != nil {
				t.Skipf("%s not generated (go run ./scripts/mkmodel)", path)
			}
			m := loadDir(t, path)
			r := NewRunner(m)
			defer r.Close()
			x := make([]float32, 2*4*64*64)
			for i := range x {
				x[i] = float32(math.Sin(float64(i)))
			}
			ctx := make([]float32, 2*77*m.Arch.CrossDim)
			for i := range ctx {
				ctx[i] = float32(math.Cos(float64(i))) * 0.5
			}
			start := time.Now()
			out, err := r.Predict(x, 981, ctx, 2, 64, 64)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range out {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("out[%d] = %v", i, v)
				}
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			t.Logf("%s: guided step %.1fs, %.0f GFLOP, arena %.0f MiB, Go heap %.0f MiB", dir, time.Since(start).Seconds(),
				float64(r.Program().FLOPs())/1e9, float64(r.Program().ArenaBytes())/(1<<20), float64(ms.HeapAlloc)/(1<<20))
		})
	}
}
