package pipeline

import "testing"

// TestEstimatePlansTheArenas checks that EstimateMemory's arenas are the
// ones the compiled networks then hold, for a guided and an unguided run of
// a size other than the model's own, and that the stages add up.
func TestEstimatePlansTheArenas(t *testing.T) {
	p := openPipeline(t, "../../testdata/tiny-sd1")
	for _, guidance := range []float64{1, 4} {
		const w, h = 72, 40
		batch := 1
		if guidance > 1 {
			batch = 2
		}
		e, err := p.Models.EstimateMemory(w, h, batch)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Generate(Options{Prompt: "small effusion", Steps: 2, NumImages: 1, Guidance: guidance, Width: w, Height: h, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Images) != 1 {
			t.Fatalf("%d images", len(res.Images))
		}
		_, us, vs := p.Stats()
		if us.ArenaBytes == 0 || vs.ArenaBytes == 0 {
			t.Fatal("no arenas after a run")
		}
		if want := us.ArenaBytes + scratch(us.ArenaBytes, 3, 4); e.UNet != want {
			t.Errorf("guidance %v: U-Net working set %d, want %d (arena %d)", guidance, e.UNet, want, us.ArenaBytes)
		}
		if want := vs.ArenaBytes + scratch(vs.ArenaBytes, 1, 8); e.VAE != want {
			t.Errorf("guidance %v: VAE working set %d, want %d (arena %d)", guidance, e.VAE, want, vs.ArenaBytes)
		}
		if e.Weights <= e.VAEWeights || e.VAEWeights <= 0 || e.Total != max(e.Weights+e.UNet, e.VAEWeights+e.VAE) {
			t.Errorf("guidance %v: inconsistent estimate %+v", guidance, e)
		}
	}
}
