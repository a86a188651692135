package pipeline

import (
	"slices"
	"strconv"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

// TestItemsIndependentOfBatch checks the batch invariant roentgen batch
// relies on: an item denoised together with others gives bit for bit the
// image Generate gives for its prompt and seed alone, also with a sampler
// that draws noise every step (Euler ancestral) and with guidance on/off.
func TestItemsIndependentOfBatch(t *testing.T) {
	p := openPipeline(t, golden.Path(t, "tiny-sd1"))
	items := []Item{
		{Prompt: "Large right-sided pleural effusion.", Seed: 11},
		{Prompt: "Cardiomegaly.", NegativePrompt: "blurry", Seed: 12},
		{Prompt: "No acute cardiopulmonary process.", Seed: 13},
	}
	for _, c := range []struct {
		sched string
		g     float64
		w, h  int
	}{
		{"euler-a", 4, 64, 48}, {"euler-a", 1, 64, 48}, {"ddim", 4, 64, 48}, {"ddim", 1, 64, 48},
		// 256 px: the 32-channel levels have 16+ tiles per image, so the
		// convolutions take the Winograd path in both runs.
		{"ddim", 4, 256, 256},
	} {
		{
			sched, g := c.sched, c.g
			o := Options{Steps: 2, Guidance: g, Scheduler: sched, Width: c.w, Height: c.h, NumImages: 1}
			batch, err := p.GenerateItems(items, o)
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range items {
				one := o
				one.Prompt, one.NegativePrompt, one.Seed = it.Prompt, it.NegativePrompt, it.Seed
				alone, err := p.Generate(one)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(alone.Images[0].Pix, batch.Images[i].Pix) {
					t.Errorf("%s guidance %g: item %d differs from generating it alone (%v)", sched, g, i, golden.Worst(batch.Images[i].Pix, alone.Images[0].Pix))
				}
			}
		}
	}
}

func TestEmbeddingCacheIsBounded(t *testing.T) {
	p := openPipeline(t, golden.Path(t, "tiny-sd1"))
	first, err := p.Encode("prompt 0", nil)
	if err != nil {
		t.Fatal(err)
	}
	first = slices.Clone(first)
	for i := range embedCacheSize + 10 {
		if _, err := p.Encode("prompt "+strconv.Itoa(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.embeds) != embedCacheSize || len(p.order) != embedCacheSize {
		t.Fatalf("cache holds %d prompts, want %d", len(p.embeds), embedCacheSize)
	}
	again, err := p.Encode("prompt 0", nil) // evicted, encoded anew
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, again) {
		t.Error("re-encoding an evicted prompt gave different states")
	}
}
