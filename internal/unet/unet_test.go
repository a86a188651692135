package unet

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

func load(t *testing.T, fixture string) *Model { return loadDir(t, golden.Path(t, fixture)) }

func loadDir(t *testing.T, dir string) *Model {
	t.Helper()
	file, data, set := golden.Component(t, dir, "unet")
	_, arch, err := ParseConfig(file, data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(set, arch)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type tensorRef struct {
	Key   string `json:"key"`
	Shape []int  `json:"shape"`
}

// TestGolden compares the U-Net with diffusers 0.25.1 on the fixture cases
// (testdata/golden/*/unet.safetensors: batch 2 [uncond, cond] at t = 981,
// 1 and 499.75) within the bound max|got-want| <= 1e-4·max(1, max|want|).
func TestGolden(t *testing.T) {
	for _, fixture := range []string{"tiny-sd1", "tiny-sd2"} {
		t.Run(fixture, func(t *testing.T) {
			var idx struct {
				UNet struct {
					Cases []struct {
						Name     string    `json:"name"`
						Timestep float64   `json:"timestep"`
						Sample   tensorRef `json:"sample"`
						EHS      tensorRef `json:"encoder_hidden_states"`
						Out      tensorRef `json:"out"`
					} `json:"cases"`
				} `json:"unet"`
			}
			data, err := os.ReadFile(golden.Path(t, "golden", fixture, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &idx); err != nil {
				t.Fatal(err)
			}
			g := golden.Open(t, "golden", fixture, "unet.safetensors")
			r := NewRunner(load(t, fixture))
			defer r.Close()
			if len(idx.UNet.Cases) != 3 {
				t.Fatalf("%d cases in the index, want 3", len(idx.UNet.Cases))
			}
			for _, c := range idx.UNet.Cases {
				s := c.Sample.Shape
				got, err := r.Predict(golden.Float32(t, g, c.Sample.Key), c.Timestep, golden.Float32(t, g, c.EHS.Key), s[0], s[2], s[3])
				if err != nil {
					t.Fatal(err)
				}
				golden.Close(t, c.Name, got, golden.Float32(t, g, c.Out.Key), 1e-4)
			}
		})
	}
}
