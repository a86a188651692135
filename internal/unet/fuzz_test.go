package unet

import (
	"os"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

// FuzzParseConfig decodes arbitrary bytes as unet/config.json: it must
// return a config or an error, never panic, and an accepted architecture
// must be self-consistent.
func FuzzParseConfig(f *testing.F) {
	for _, fx := range []string{"tiny-sd1", "tiny-sd2"} {
		b, err := os.ReadFile(golden.Path(f, fx, "unet", "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"attention_head_dim": [1, 2], "block_out_channels": [0]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, a, err := ParseConfig("config.json", data)
		if err != nil {
			return
		}
		if len(a.Down) != len(a.Up) || a.Groups <= 0 || a.C0 <= 0 {
			t.Fatalf("inconsistent arch %+v", a)
		}
		for _, b := range append(a.Down, a.Up...) {
			if b.Heads <= 0 || b.Out <= 0 || b.Layers < 0 {
				t.Fatalf("bad block %+v", b)
			}
		}
	})
}
