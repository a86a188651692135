package weights

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// image builds a safetensors image from a header object and a data area.
func image(t *testing.T, header any, data []byte) []byte {
	t.Helper()
	var h []byte
	switch v := header.(type) {
	case string:
		h = []byte(v)
	default:
		var err error
		if h, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

type entry = map[string]any

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestDecodeDTypes(t *testing.T) {
	data := f32bytes(1.5, -2)
	data = append(data, 0x00, 0x3c, 0x00, 0xc0) // F16 1, -2
	data = append(data, 0x80, 0x3f, 0x20, 0x41) // BF16 1, 10
	img := image(t, entry{
		"a":            entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}},
		"b":            entry{"dtype": "F16", "shape": []int{2}, "data_offsets": []int{8, 12}},
		"c":            entry{"dtype": "BF16", "shape": []int{1, 2}, "data_offsets": []int{12, 16}},
		"__metadata__": entry{"format": "pt"},
	}, data)
	f, err := Parse("mem", img)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{"a": {1.5, -2}, "b": {1, -2}, "c": {1, 10}} {
		got, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
}

// TestHeaderErrors crafts one broken file per validation rule and checks the
// error names the problem (and never panics).
func TestHeaderErrors(t *testing.T) {
	ok := entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}
	cases := []struct {
		name string
		img  []byte
		want string
	}{
		{"too short", []byte{1, 2, 3}, "too short"},
		{"length past end", append(binary.LittleEndian.AppendUint64(nil, 1000), "{}"...), "runs past the end"},
		{"huge length", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "runs past the end"},
		{"invalid json", image(t, `{"a": {`, nil), "not valid JSON"},
		{"not an object", image(t, `[1,2]`, nil), "not valid JSON"},
		{"duplicate key", image(t, `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32bytes(1)), "duplicate key"},
		{"unknown dtype", image(t, entry{"a": entry{"dtype": "Q4", "shape": []int{2}, "data_offsets": []int{0, 8}}}, f32bytes(1, 2)), `unknown dtype "Q4"`},
		{"offsets past data", image(t, entry{"a": entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}}, f32bytes(1)), "outside the 4-byte data area"},
		{"offsets reversed", image(t, entry{"a": entry{"dtype": "F32", "shape": []int{0}, "data_offsets": []int{8, 0}}}, f32bytes(1, 2)), "outside"},
		{"offsets count", image(t, entry{"a": entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0}}}, f32bytes(1, 2)), "2 numbers"},
		{"negative dim", image(t, entry{"a": entry{"dtype": "F32", "shape": []int{-2}, "data_offsets": []int{0, 8}}}, f32bytes(1, 2)), "bad dimension"},
		{"size mismatch", image(t, entry{"a": entry{"dtype": "F32", "shape": []int{3}, "data_offsets": []int{0, 8}}}, f32bytes(1, 2)), "does not match data_offsets length"},
		{"overlap", image(t, entry{"a": ok, "b": entry{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{4, 8}}}, f32bytes(1, 2)), "overlap"},
		{"unknown field", image(t, entry{"a": entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}, "x": 1}}, f32bytes(1, 2)), "bad header entry"},
		{"bad metadata", image(t, entry{"__metadata__": entry{"a": 1}}, nil), "__metadata__"},
		{"trailing data", image(t, `{} {}`, nil), "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("broken.safetensors", c.img)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "broken.safetensors: ") {
				t.Fatalf("error %q does not name the file and %q", err, c.want)
			}
		})
	}
}

func TestOpenMmapAndTruncated(t *testing.T) {
	dir := t.TempDir()
	img := image(t, entry{"w": entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}}, f32bytes(3, 4))
	good := filepath.Join(dir, "good.safetensors")
	if err := os.WriteFile(good, img, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(good)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Float32("w"); err != nil || v[0] != 3 || v[1] != 4 {
		t.Fatalf("got %v, %v", v, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{len(img) - 1, 20, 7, 0} {
		p := filepath.Join(dir, "trunc.safetensors")
		if err := os.WriteFile(p, img[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("truncated to %d bytes: error %v does not name the file", n, err)
		}
	}
	if _, err := Open(filepath.Join(dir, "absent.safetensors")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestScopeStrictLoading(t *testing.T) {
	img := image(t, entry{
		"block.0.lin.weight":   entry{"dtype": "F32", "shape": []int{1, 2}, "data_offsets": []int{0, 8}},
		"block.0.other.weight": entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{8, 16}},
		"block.0.ids":          entry{"dtype": "I64", "shape": []int{1}, "data_offsets": []int{16, 24}},
		"extra.bias":           entry{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{24, 28}},
	}, append(f32bytes(1, 2, 3, 4), make([]byte, 12)...))
	f, err := Parse("m.safetensors", img)
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(f)
	if err != nil {
		t.Fatal(err)
	}
	s := set.Root().Sub("block").Index(0)
	w := s.Sub("lin").Tensor("weight", 1, 2)
	if got := w.Float32(); got[0] != 1 || got[1] != 2 {
		t.Fatalf("lin.weight = %v", got)
	}
	s.Sub("other").Tensor("weight", 3)   // wrong shape
	s.Sub("missing").Tensor("weight", 1) // absent
	s.Tensor("ids", 1)                   // not a float
	err = set.Check()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`m.safetensors: tensor "block.0.other.weight" has shape [2], the config expects [3]`,
		`missing tensor "block.0.missing.weight"`,
		`tensor "block.0.ids" has dtype I64`,
		`unexpected tensor "extra.bias"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := set.Check("extra."); err == nil || strings.Contains(err.Error(), "extra.bias") {
		t.Errorf("ignored prefix still reported: %v", err)
	}
	params, bytes := set.Stats()
	if params != 5 || bytes[F32] != 20 {
		t.Errorf("Stats = %d params, %v bytes; want 5 float params (the I64 buffer is not a parameter), 20 F32 bytes", params, bytes)
	}
}

func TestDuplicateAcrossShards(t *testing.T) {
	img := image(t, entry{"a": entry{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{0, 4}}}, f32bytes(1))
	f1, _ := Parse("s1", img)
	f2, _ := Parse("s2", img)
	if _, err := NewSet(f1, f2); err == nil || !strings.Contains(err.Error(), `"a" is stored twice: in s1 and in s2`) {
		t.Fatalf("got %v", err)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rt.safetensors")
	recs := []Record{
		{Name: "x", DType: F32, Shape: []int{2}, Data: f32bytes(5, 6)},
		{Name: "y", DType: F16, Shape: []int{1}, Data: []byte{0x00, 0x3c}},
	}
	if err := WriteFile(path, recs, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, _ := f.Float32("x")
	y, _ := f.Float32("y")
	if x[0] != 5 || x[1] != 6 || y[0] != 1 {
		t.Fatalf("x %v y %v", x, y)
	}
	if err := Write(io.Discard, []Record{{Name: "z", DType: F32, Shape: []int{3}, Data: f32bytes(1)}}, nil); err == nil {
		t.Fatal("size mismatch not rejected")
	}
}

func TestCheckFinite(t *testing.T) {
	for _, c := range []struct {
		dtype DType
		data  []byte
	}{
		{F32, append(f32bytes(1), f32bytes(float32(math.Inf(1)))...)},
		{F32, append(f32bytes(1), f32bytes(float32(math.NaN()))...)},
		{F16, []byte{0x00, 0x3c, 0x00, 0x7e}},  // 1, NaN
		{BF16, []byte{0x80, 0x3f, 0x80, 0xff}}, // 1, -Inf
	} {
		img := image(t, entry{"w": entry{"dtype": c.dtype, "shape": []int{2}, "data_offsets": []int{0, len(c.data)}}}, c.data)
		f, err := Parse("m.safetensors", img)
		if err != nil {
			t.Fatal(err)
		}
		set, _ := NewSet(f)
		set.Root().Tensor("w", 2)
		if err := set.CheckFinite(); err == nil || !strings.Contains(err.Error(), `m.safetensors: tensor "w" holds a non-finite value (NaN or Inf) at element 1`) {
			t.Errorf("%s: got %v", c.dtype, err)
		}
	}
	f, _ := Parse("ok", image(t, entry{"w": entry{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}}, f32bytes(1, -2)))
	set, _ := NewSet(f)
	set.Root().Tensor("w", 2)
	if err := set.CheckFinite(); err != nil {
		t.Error(err)
	}
}

// TestFirstNonFiniteWordScan puts one special value at every position of
// buffers of every length up to 40 bytes, among near misses (exponent all ones
// but one bit, maximum finite values, negative zero), and checks the
// word-at-a-time scan against the element-by-element rule.
func TestFirstNonFiniteWordScan(t *testing.T) {
	for _, c := range []struct {
		dtype          DType
		size           int
		mask           uint32
		specials, near []uint32
	}{
		{F32, 4, 0x7f800000, []uint32{0x7f800000, 0xff800000, 0x7fc00000, 0xffffffff, 0x7f800001},
			[]uint32{0x7f7fffff, 0xff7fffff, 0x80000000, 0x3f800000, 0x7f000000, 0x00800000}},
		{F16, 2, 0x7c00, []uint32{0x7c00, 0xfc00, 0x7e00, 0xffff, 0x7c01},
			[]uint32{0x7bff, 0xfbff, 0x8000, 0x3c00, 0x7800, 0x0400, 0x0001}},
		{BF16, 2, 0x7f80, []uint32{0x7f80, 0xff80, 0x7fc0, 0xffff},
			[]uint32{0x7f7f, 0xff7f, 0x8000, 0x3f80, 0x7f00, 0x0080}},
	} {
		put := func(b []byte, i int, v uint32) {
			if c.size == 2 {
				binary.LittleEndian.PutUint16(b[i*2:], uint16(v))
			} else {
				binary.LittleEndian.PutUint32(b[i*4:], v)
			}
		}
		for n := 0; n*c.size <= 40; n++ {
			b := make([]byte, n*c.size)
			for i := range n {
				put(b, i, c.near[i%len(c.near)])
			}
			if got := firstNonFinite(b, c.dtype); got != 0 {
				t.Fatalf("%s, %d finite elements: got %d, want 0", c.dtype, n, got)
			}
			for at := range n {
				for _, s := range c.specials {
					bb := append([]byte(nil), b...)
					put(bb, at, s)
					if at+1 < n { // a second special later must not matter
						put(bb, n-1, c.specials[0])
					}
					if got := firstNonFinite(bb, c.dtype); got != at+1 {
						t.Fatalf("%s, %d elements, %#x at %d: got %d, want %d", c.dtype, n, s, at, got, at+1)
					}
				}
			}
		}
	}
}
