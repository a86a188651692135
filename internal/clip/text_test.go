package clip

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

func loadText(t *testing.T, fixture string) *TextEncoder {
	t.Helper()
	file, data, set := golden.Component(t, golden.Path(t, fixture), "text_encoder")
	_, arch, err := ParseConfig(file, data)
	if err != nil {
		t.Fatal(err)
	}
	te, err := NewTextEncoder(set, arch)
	if err != nil {
		t.Fatal(err)
	}
	return te
}

// TestTextEncoderGolden runs the five prompts of
// testdata/golden/*/text_encoder.safetensors (transformers 4.33
// CLIPTextModel(input_ids).last_hidden_state, no attention mask) from their
// stored input_ids, within max|got-want| <= 1e-4·max(1, max|want|).
func TestTextEncoderGolden(t *testing.T) {
	for _, fixture := range []string{"tiny-sd1", "tiny-sd2"} {
		t.Run(fixture, func(t *testing.T) {
			var idx struct {
				TE struct {
					Cases []struct {
						Name string `json:"name"`
						IDs  struct {
							Key string `json:"key"`
						} `json:"input_ids"`
						Last struct {
							Key string `json:"key"`
						} `json:"last_hidden_state"`
					} `json:"cases"`
				} `json:"text_encoder"`
			}
			data, err := os.ReadFile(golden.Path(t, "golden", fixture, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &idx); err != nil {
				t.Fatal(err)
			}
			if len(idx.TE.Cases) != 5 {
				t.Fatalf("%d cases, want 5", len(idx.TE.Cases))
			}
			g := golden.Open(t, "golden", fixture, "text_encoder.safetensors")
			r := NewTextRunner(loadText(t, fixture))
			defer r.Close()
			for _, c := range idx.TE.Cases {
				ids64, err := g.Int64(c.IDs.Key)
				if err != nil {
					t.Fatal(err)
				}
				ids := make([]int, len(ids64))
				for i, v := range ids64 {
					ids[i] = int(v)
				}
				got, err := r.Encode([][]int{ids})
				if err != nil {
					t.Fatal(err)
				}
				golden.Close(t, c.Name, got, golden.Float32(t, g, c.Last.Key), 1e-4)
			}
		})
	}
}
