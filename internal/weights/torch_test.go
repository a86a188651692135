package weights

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// torchData is testdata/torch, written by scripts/torch-fixture.py.
var torchData = filepath.Join("..", "..", "testdata", "torch")

// TestTorchCheckpoint reads a state dict in torch.save's layout and
// compares every tensor's dtype, shape and bytes with the same tensors
// written as safetensors, and checks that the tensors are read in place.
func TestTorchCheckpoint(t *testing.T) {
	got, err := Open(filepath.Join(torchData, "state.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	want, err := Open(filepath.Join(torchData, "state.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	gn, wn := slices.Sorted(slices.Values(got.Names())), slices.Sorted(slices.Values(want.Names()))
	if !slices.Equal(gn, wn) || len(gn) != 307 {
		t.Fatalf("names: got %d, want the %d of the safetensors file", len(gn), len(wn))
	}
	for _, n := range wn {
		gb, gi, err := got.Bytes(n)
		if err != nil {
			t.Fatal(err)
		}
		wb, wi, _ := want.Bytes(n)
		if gi.DType != wi.DType || !slices.Equal(gi.Shape, wi.Shape) || !bytes.Equal(gb, wb) {
			t.Fatalf("%s: got %s %v % x, want %s %v % x", n, gi.DType, gi.Shape, gb, wi.DType, wi.Shape, wb)
		}
	}
	// The second view of a shared storage starts 6 floats in, in place.
	a, _ := got.Info("shared.first")
	b, _ := got.Info("shared.second")
	if b.Begin != a.Begin+24 || a.Begin%64 != 0 {
		t.Fatalf("shared storage views at %d and %d", a.Begin, b.Begin)
	}
	if v, err := got.Float32("conv_in.weight"); err != nil || v[0] != -1 || v[11] != 4.5 {
		t.Fatalf("conv_in.weight = %v, %v", v, err)
	}
}

// rezip rewrites a checkpoint's entries through edit (nil drops an entry).
func rezip(t *testing.T, img []byte, edit func(name string, data []byte) ([]byte, uint16)) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, e := range zr.File {
		r, _ := e.Open()
		data, _ := io.ReadAll(r)
		data, method := edit(e.Name, data)
		if data == nil {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	zw.Close()
	return out.Bytes()
}

// TestTorchErrors checks that broken or unsafe checkpoints fail with an
// error naming the problem.
func TestTorchErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(torchData, "state.bin"))
	if err != nil {
		t.Fatal(err)
	}
	fortran, err := os.ReadFile(filepath.Join(torchData, "fortran.bin"))
	if err != nil {
		t.Fatal(err)
	}
	pickleOnly := func(pkl string) []byte {
		return rezip(t, good, func(name string, data []byte) ([]byte, uint16) {
			if name == "state/data.pkl" {
				return []byte(pkl), zip.Store
			}
			return data, zip.Store
		})
	}
	for _, c := range []struct {
		name string
		img  []byte
		want string
	}{
		{"good, restored", rezip(t, good, func(_ string, d []byte) ([]byte, uint16) { return d, zip.Store }), ""},
		{"fortran order", fortran, `"w": shape [2 3] with strides [1 2] is not stored row-major`},
		{"compressed storage", rezip(t, good, func(n string, d []byte) ([]byte, uint16) {
			if n == "state/data/0" {
				return d, zip.Deflate
			}
			return d, zip.Store
		}), "state/data/0 is compressed"},
		{"compressed pickle", rezip(t, good, func(n string, d []byte) ([]byte, uint16) {
			if n == "state/data.pkl" {
				return d, zip.Deflate
			}
			return d, zip.Store
		}), "state/data.pkl is compressed"},
		{"missing storage", rezip(t, good, func(n string, d []byte) ([]byte, uint16) {
			if n == "state/data/3" {
				return nil, 0
			}
			return d, zip.Store
		}), `"text_model.embeddings.position_ids": its storage data/3 is not in the archive`},
		{"big-endian", rezip(t, good, func(n string, d []byte) ([]byte, uint16) {
			if n == "state/byteorder" {
				return []byte("big"), zip.Store
			}
			return d, zip.Store
		}), `stored "big"-endian`},
		{"no pickle", rezip(t, good, func(n string, d []byte) ([]byte, uint16) {
			if n == "state/data.pkl" {
				return nil, 0
			}
			return d, zip.Store
		}), "without data.pkl"},
		// os.system('echo pwned') as pickle.dumps writes it.
		{"code", pickleOnly("\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."), "refers to posix.system, which a state dict of tensors does not use"},
		{"not a dict", pickleOnly("\x80\x02K\x07."), "holds a Python int, not a state dict"},
		{"not a tensor", pickleOnly("\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s."), `"a" is a Python int, not a tensor`},
		{"truncated pickle", pickleOnly("\x80\x02}q\x00X\x09\x00\x00\x00a"), "truncated"},
		{"unknown opcode", pickleOnly("\x80\x02i."), "unsupported pickle opcode 0x69"},
		{"legacy format", append(append([]byte(nil), legacyTorchMagic...), 0x2e), "format before PyTorch 1.6"},
		{"Git LFS pointer", []byte("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 3438167536\n"), "a Git LFS pointer, not the weights"},
		{"shape overflows int64", tensorArchive(t, pickledTensor{name: "w", class: "FloatStorage", key: "0", numel: 4,
			shape: []int64{3, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1}, stride: []int64{-2, 1, 1, 1}}), `"w": shape [3 2147483647 2147483647 2147483647] has more elements than its 4-element storage`},
		{"storage declared past the file", tensorArchive(t, pickledTensor{name: "w", class: "FloatStorage", key: "0", numel: 1 << 40,
			shape: []int64{16}, stride: []int64{1}}), `"w": its storage state/data/0 (`},
		{"view past its storage", tensorArchive(t, pickledTensor{name: "w", class: "FloatStorage", key: "0", numel: 4, offset: 2,
			shape: []int64{4}, stride: []int64{1}}), "4 elements at offset 2 run past its 4-element storage"},
		{"a long dict key set again and again", pickleOnly("\x80\x02}X\x00\x10\x00\x00" + strings.Repeat("k", 4096) + "q\x010" + strings.Repeat("h\x01Ns", 1000) + "."), "dict key of 4096 bytes, more than 1024"},
		{"a storage id deeply nested", pickleOnly("\x80\x02" + strings.Repeat("(", 100000) + strings.Repeat("t", 100000) + "Q."), "persistent id (a tuple) is not a tensor storage"},
		{"too many values", pickleOnly("\x80\x02" + strings.Repeat("}0", maxObjects+8) + "N."), "too large for a state dict"},
	} {
		f, err := Parse("ckpt.bin", c.img)
		if c.want == "" {
			if err != nil || len(f.Names()) != 307 {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "ckpt.bin: ") || len(err.Error()) > 400 {
			t.Errorf("%s: got error %.400v, want one line containing %q", c.name, err, c.want)
		}
	}
}

// TestWriteTorchFile round-trips records through WriteTorchFile: the same
// tensors, each stored at a 64-byte aligned offset (read in place).
func TestWriteTorchFile(t *testing.T) {
	src, err := Open(filepath.Join(torchData, "state.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(t.TempDir(), "pytorch_model.bin")
	if err := WriteTorchFile(path, src.Records()); err != nil {
		t.Fatal(err)
	}
	got, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if !slices.Equal(got.Names(), src.Names()) {
		t.Fatalf("names %v, want %v", got.Names(), src.Names())
	}
	for _, n := range src.Names() {
		gb, gi, _ := got.Bytes(n)
		wb, wi, _ := src.Bytes(n)
		if gi.DType != wi.DType || !slices.Equal(gi.Shape, wi.Shape) || !bytes.Equal(gb, wb) || gi.Begin%64 != 0 {
			t.Fatalf("%s: got %s %v at %d, want %s %v", n, gi.DType, gi.Shape, gi.Begin, wi.DType, wi.Shape)
		}
	}
}

// tensorArchive is a checkpoint with one 4-float storage "0" and the given
// tensor description, as torch.save lays it out.
func tensorArchive(t *testing.T, pt pickledTensor) []byte {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, e := range []struct {
		name string
		data []byte
	}{{"state/data.pkl", pickleStateDict([]pickledTensor{pt})}, {"state/data/0", make([]byte, 16)}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	zw.Close()
	return out.Bytes()
}

// TestTorchDeclaredSizeWraps: a storage entry whose zip header declares
// 2^63 bytes or more (a zip64 size that wraps negative as int64) is refused
// instead of letting a tensor view run past the end of the file.
func TestTorchDeclaredSizeWraps(t *testing.T) {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	pkl := pickleStateDict([]pickledTensor{{name: "w", class: "FloatStorage", key: "0", numel: 1 << 40, offset: 1 << 39, shape: []int64{16}, stride: []int64{1}}})
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "state/data.pkl", Method: zip.Store})
	w.Write(pkl)
	size := uint64(1)<<63 + 5
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "state/data/0", Method: zip.Store, CompressedSize64: size, UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 64))
	zw.Close()
	f, err := Parse("ckpt.bin", out.Bytes())
	if err == nil {
		b, _, berr := f.Bytes("w")
		t.Fatalf("accepted: %d bytes, %v", len(b), berr)
	}
	if !strings.Contains(err.Error(), `"w": its storage state/data/0 (9223372036854775813 bytes at`) {
		t.Errorf("got %v", err)
	}
}
