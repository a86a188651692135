package imageio

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestGray8MatchesPillow(t *testing.T) {
	// Expected values from Pillow's L24 formula, worked by hand:
	// (r·19595 + g·38470 + b·7471 + 0x8000) >> 16.
	rgb := []uint8{255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 10, 20, 30, 128, 128, 128}
	want := []uint8{76, 150, 29, 255, 0, 18, 128}
	if got := Gray8(rgb); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRGB8RoundsHalfToEven(t *testing.T) {
	// numpy.round: 0.5 → 0, 1.5 → 2, 2.5 → 2 (values chosen so x*255 is exact in float32).
	m := Image{W: 4, H: 1, C: 1, Pix: []float32{0.5 / 255, 1.5 / 255, 2.5 / 255, 1}}
	got := m.RGB8()
	if got[0] != 0 || got[1] != 2 || got[2] != 2 || got[3] != 255 {
		t.Errorf("got %v", got)
	}
}

func TestFromDecoderClampsAndTransposes(t *testing.T) {
	// [C=3, H=1, W=2] decoder output → NHWC (x/2+0.5).clamp(0,1).
	img := FromDecoder([]float32{-3, 0, 1, 0.5, 3, -1}, 3, 1, 2)
	want := []float32{0, 1, 1, 0.5, 0.75, 0}
	if !reflect.DeepEqual(img.Pix, want) {
		t.Errorf("got %v, want %v", img.Pix, want)
	}
}

func TestParamsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.png")
	m := Image{W: 2, H: 2, C: 3, Pix: make([]float32, 12)}
	params := map[string]any{"prompt": "Épanchement pleural — 2.5 cm 🫁", "seed": float64(42)}
	for _, f := range []Format{Gray8Bit, Gray16Bit, RGB8Bit, RGB16Bit} {
		if err := WriteFileAtomic(path, func(w io.Writer) error { return EncodePNG(w, m, f, params) }); err != nil {
			t.Fatal(err)
		}
		got, err := ReadParams(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, params) {
			t.Errorf("format %d: got %v", f, got)
		}
		b, _ := os.ReadFile(path)
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("format %d: written PNG does not decode: %v", f, err)
		}
	}
}

func TestWriteFileAtomicLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v behind", entries)
	}
}

func TestNumberedPaths(t *testing.T) {
	if got := NumberedPaths("a/b.png", 1); !reflect.DeepEqual(got, []string{"a/b.png"}) {
		t.Error(got)
	}
	if got := NumberedPaths("a/b.png", 3); !reflect.DeepEqual(got, []string{"a/b-0.png", "a/b-1.png", "a/b-2.png"}) {
		t.Error(got)
	}
}
