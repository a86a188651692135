package pipeline

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/diffusers"
)

// TestCorruptedFoldersFailCleanly damages copies of the fixture folders (and
// of tiny-sd1 with PyTorch checkpoints) at random (truncation, byte flips,
// garbage, deleted files), loads them and,
// when they still load, generates one step. Every outcome must be a
// result or an error that names a file of the folder; never a panic.
func TestCorruptedFoldersFailCleanly(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for trial := range 90 {
		dir := copyFixture(t, []string{"tiny-sd1", "tiny-sd2", "tiny-sd1"}[trial%3])
		if trial%3 == 2 {
			for _, comp := range []string{"text_encoder", "unet", "vae"} {
				toTorch(t, dir, comp, false)
			}
		}
		var files []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		sort.Strings(files)
		victim := files[r.IntN(len(files))]
		what := corrupt(t, r, victim)
		name := fmt.Sprintf("%d %s %s", trial, strings.TrimPrefix(victim, dir), what)
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s: panic: %v", name, p)
				}
			}()
			f, err := diffusers.Open(dir)
			if err == nil {
				var m *Models
				if m, err = Load(f, LoadOptions{}); err == nil {
					var p *Pipeline
					if p, err = New(m); err == nil {
						_, err = p.Generate(Options{Prompt: "Cardiomegaly.", Steps: 1, Guidance: 4, Width: 64, Height: 64, NumImages: 1})
						p.Close()
					} else {
						m.Close()
					}
				}
			}
			if err != nil && !strings.Contains(err.Error(), dir) {
				t.Errorf("%s: error does not name the folder: %v", name, err)
			}
		}()
	}
}

// corrupt damages one file and says how.
func corrupt(t *testing.T, r *rand.Rand, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch r.IntN(4) {
	case 0:
		n := r.IntN(len(b) + 1)
		b = b[:n]
		os.WriteFile(path, b, 0o644)
		return fmt.Sprintf("truncated to %d", n)
	case 1:
		for range 1 + r.IntN(8) {
			if len(b) > 0 {
				b[r.IntN(min(len(b), 4096))] ^= byte(1 + r.IntN(255)) // mostly headers and JSON
			}
		}
		os.WriteFile(path, b, 0o644)
		return "bytes flipped"
	case 2:
		os.WriteFile(path, []byte("\x00garbage{\"\xff"), 0o644)
		return "replaced by garbage"
	default:
		os.Remove(path)
		return "deleted"
	}
}
