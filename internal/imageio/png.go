package imageio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roentgen-dev/roentgen/internal/atomicfile"
)

// Format is the pixel layout of a written image.
type Format int

// The PNG layouts roentgen writes.
const (
	Gray8Bit Format = iota
	Gray16Bit
	RGB8Bit
	RGB16Bit
)

// ParamsKey is the PNG tEXt keyword holding the generation parameters.
const ParamsKey = "parameters"

// EncodePNG writes m as a PNG in the given format with params stored as one
// tEXt chunk (keyword "parameters", JSON with non-ASCII escaped so the
// chunk is valid Latin-1).
func EncodePNG(w io.Writer, m Image, f Format, params map[string]any) error {
	var img image.Image
	rect := image.Rect(0, 0, m.W, m.H)
	switch f {
	case RGB8Bit:
		rgb := m.RGB8()
		n := image.NewNRGBA(rect)
		for i := range m.W * m.H {
			n.Pix[4*i], n.Pix[4*i+1], n.Pix[4*i+2], n.Pix[4*i+3] = rgb[3*i], rgb[3*i+1], rgb[3*i+2], 255
		}
		img = n
	case RGB16Bit:
		n := image.NewNRGBA64(rect)
		for i := range m.W * m.H {
			p := m.Pix[i*m.C:]
			n.SetNRGBA64(i%m.W, i/m.W, color.NRGBA64{R: to16(p[0]), G: to16(p[1]), B: to16(p[2]), A: 0xffff})
		}
		img = n
	case Gray8Bit:
		g := image.NewGray(rect)
		copy(g.Pix, Gray8(m.RGB8()))
		img = g
	case Gray16Bit:
		g := image.NewGray16(rect)
		for i, v := range m.Gray16() {
			g.SetGray16(i%m.W, i/m.W, color.Gray16{Y: v})
		}
		img = g
	default:
		return fmt.Errorf("imageio: unknown format %d", f)
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return err
	}
	text, err := asciiJSON(params)
	if err != nil {
		return err
	}
	return insertText(w, buf.Bytes(), ParamsKey, text)
}

// to16 scales a [0, 1] value to 16 bits, rounding.
func to16(v float32) uint16 { return uint16(math.Round(float64(min(max(v, 0), 1)) * 65535)) }

// asciiJSON encodes v as JSON whose every byte is ASCII.
func asciiJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, r := range string(b) {
		if r < 0x80 {
			sb.WriteRune(r)
			continue
		}
		if r > 0xFFFF { // a UTF-16 surrogate pair, as JSON requires
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		fmt.Fprintf(&sb, `\u%04x`, r)
	}
	return sb.String(), nil
}

// insertText copies a PNG stream, adding a tEXt chunk after IHDR.
func insertText(w io.Writer, pngData []byte, key, text string) error {
	const sigLen, ihdrLen = 8, 8 + 13 + 4
	if len(pngData) < sigLen+ihdrLen || string(pngData[12:16]) != "IHDR" {
		return errors.New("imageio: encoder produced no IHDR chunk")
	}
	data := append(append([]byte(key), 0), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	for _, part := range [][]byte{pngData[:sigLen+ihdrLen], chunk, pngData[sigLen+ihdrLen:]} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// ReadText returns the tEXt chunks of a PNG file by keyword.
func ReadText(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 || string(b[1:4]) != "PNG" {
		return nil, fmt.Errorf("%s: not a PNG file", path)
	}
	out := map[string]string{}
	for p := 8; p+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[p:]))
		typ := string(b[p+4 : p+8])
		if n < 0 || p+12+n > len(b) {
			return nil, fmt.Errorf("%s: truncated %q chunk", path, typ)
		}
		if typ == "tEXt" {
			data := b[p+8 : p+8+n]
			if k, v, ok := bytes.Cut(data, []byte{0}); ok {
				out[string(k)] = latin1(v)
			}
		}
		p += 12 + n
	}
	return out, nil
}

func latin1(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// ReadParams decodes the "parameters" chunk of a PNG written by EncodePNG.
func ReadParams(path string) (map[string]any, error) {
	text, err := ReadText(path)
	if err != nil {
		return nil, err
	}
	s, ok := text[ParamsKey]
	if !ok {
		return nil, fmt.Errorf("%s: no %q tEXt chunk (not written by roentgen?)", path, ParamsKey)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("%s: %q chunk: %v", path, ParamsKey, err)
	}
	return p, nil
}

// WriteFileAtomic writes a file through write into a temporary file in the
// same folder, syncs it and renames it over path, so that path never holds
// a partial file; on any error the temporary file is removed.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, "."+filepath.Base(path)+".tmp", write)
}

// NumberedPaths returns path itself for one image, else base-0.ext,
// base-1.ext, ...
func NumberedPaths(path string, n int) []string {
	if n == 1 {
		return []string{path}
	}
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext)
	out := make([]string, n)
	for i := range out {
		out[i] = base + "-" + strconv.Itoa(i) + ext
	}
	return out
}
