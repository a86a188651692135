// Package golden loads the reference fixtures in testdata/golden and compares results against them (tests only).
package golden

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// Root returns the repository root, found by walking up from the working
// directory (a package directory during go test) to go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("golden: go.mod not found above the working directory")
		}
		dir = up
	}
}

// CopyDir copies the folder src (symlinks followed) to dst, for tests that
// edit a fixture.
func CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// WithTextEncoderCopy copies the pipeline folder src to a new temporary
// folder and adds to it a folder name holding src's text encoder (its
// config.json, and its float tensors rewritten as float32 after change,
// which may edit them) and, with tokenizer, tokenizer/'s files: the layout
// RoentGen's training code gives text_encoder_and_tokenizer/.
func WithTextEncoderCopy(t testing.TB, src, name string, tokenizer bool, change func(tensor string, v []float32)) string {
	t.Helper()
	dir := t.TempDir()
	CopyDir(t, src, dir)
	CopyDir(t, filepath.Join(src, "text_encoder"), filepath.Join(dir, name))
	if tokenizer {
		CopyDir(t, filepath.Join(src, "tokenizer"), filepath.Join(dir, name))
	}
	f, err := weights.Open(filepath.Join(src, "text_encoder", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records := f.Records()
	for i, r := range records {
		if !r.DType.IsFloat() {
			continue
		}
		v := Float32(t, f, r.Name)
		change(r.Name, v)
		r.DType, r.Data = weights.F32, make([]byte, 4*len(v))
		for k, x := range v {
			binary.LittleEndian.PutUint32(r.Data[4*k:], math.Float32bits(x))
		}
		records[i] = r
	}
	if err := weights.WriteFile(filepath.Join(dir, name, "model.safetensors"), records, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// WithKeys returns the JSON object config with the keys of kv set to its
// values, for tests that vary one field of a real config.
func WithKeys(t testing.TB, config string, kv map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(config), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Path joins elements onto the repository's testdata directory.
func Path(t testing.TB, elem ...string) string {
	return filepath.Join(append([]string{Root(t), "testdata"}, elem...)...)
}

// Open opens a golden safetensors file under testdata, e.g.
// Open(t, "golden", "tiny-sd1", "unet.safetensors").
func Open(t testing.TB, elem ...string) *weights.File {
	t.Helper()
	f, err := weights.Open(Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Float32 reads a float tensor from a golden file or fails the test.
func Float32(t testing.TB, f *weights.File, name string) []float32 {
	t.Helper()
	v, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Diff describes the worst element of a comparison.
type Diff struct {
	Index     int
	Got, Want float32
	Abs       float64 // max |got-want|
	MaxWant   float64 // max |want|
}

func (d Diff) String() string {
	return fmt.Sprintf("worst at %d: got %.9g want %.9g (|diff| %.3g, max|want| %.3g)", d.Index, d.Got, d.Want, d.Abs, d.MaxWant)
}

// Worst returns the element with the largest absolute difference. A NaN in
// got counts as an infinite difference.
func Worst(got, want []float32) Diff {
	var d Diff
	for i := range want {
		a := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(a) {
			a = math.Inf(1)
		}
		if a > d.Abs || i == 0 {
			d.Index, d.Got, d.Want, d.Abs = i, got[i], want[i], a
		}
		d.MaxWant = math.Max(d.MaxWant, math.Abs(float64(want[i])))
	}
	return d
}

// Close fails the test unless len(got) == len(want) and
// max|got-want| <= tol * max(1, max|want|), the tolerance form the fixture
// README uses. It logs the worst element either way.
func Close(t testing.TB, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	d := Worst(got, want)
	bound := tol * math.Max(1, d.MaxWant)
	if d.Abs > bound {
		t.Errorf("%s: %v exceeds %.3g", name, d, bound)
		return
	}
	t.Logf("%s: %v", name, d)
}

// Component opens one component of the pipeline folder dir: its config
// file's path and bytes and its weights (closed when the test ends).
func Component(t testing.TB, dir, name string) (file string, config []byte, set *weights.Set) {
	t.Helper()
	f, err := diffusers.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	file, config, err = f.Config(name)
	if err != nil {
		t.Fatal(err)
	}
	set, _, err = f.Weights(name, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	return file, config, set
}
