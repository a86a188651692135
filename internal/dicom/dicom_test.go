package dicom

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	godicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

var meta = Meta{
	Prompt: "Small left pleural effusion. Épanchement pleural.", NegativePrompt: "text, labels", Seed: 4242,
	Model: "tiny-sd1 (0123456789abcdef)", Parameters: `{"steps":2}`, PatientID: "SYN-0000002a-0",
	Software: "roentgen test", Time: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC),
}

// write encodes pix into a file under t.TempDir and returns its path.
func write[P uint8 | uint16](t *testing.T, pix []P, w, h int, m Meta) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, pix, w, h, m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "img.dcm")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func str(t *testing.T, ds godicom.Dataset, tg tag.Tag) string {
	t.Helper()
	e, err := ds.FindElementByTag(tg)
	if err != nil {
		t.Fatalf("%s: %v", tag.DebugString(tg), err)
	}
	if v, ok := e.Value.GetValue().([]string); ok {
		return strings.Join(v, `\`)
	}
	return strings.Trim(strings.ReplaceAll(e.Value.String(), " ", `\`), "[]")
}

func TestWriteParsesBack(t *testing.T) {
	for _, bits := range []int{8, 16} {
		const w, h = 24, 16 // a non-square image catches Rows/Columns swaps
		var path string
		want := make([]int, w*h)
		if bits == 8 {
			px := make([]uint8, w*h)
			for i := range px {
				px[i] = uint8(i * 7)
				want[i] = int(px[i])
			}
			path = write(t, px, w, h, meta)
		} else {
			px := make([]uint16, w*h)
			for i := range px {
				px[i] = uint16(i * 171)
				want[i] = int(px[i])
			}
			path = write(t, px, w, h, meta)
		}
		ds, err := godicom.ParseFile(path, nil)
		if err != nil {
			t.Fatalf("%d bits: parse: %v", bits, err)
		}
		for tg, v := range map[tag.Tag]string{
			tag.MediaStorageSOPClassUID: SecondaryCaptureImageStorage, tag.SOPClassUID: SecondaryCaptureImageStorage,
			tag.TransferSyntaxUID: "1.2.840.10008.1.2.1", tag.ImplementationClassUID: ImplementationClassUID,
			tag.Modality: "OT", tag.ConversionType: "SYN", tag.ImageType: `DERIVED\SECONDARY`,
			tag.BurnedInAnnotation: "NO", tag.PhotometricInterpretation: "MONOCHROME2", tag.Manufacturer: "roentgen",
			tag.PatientName: "SYNTHETIC^ROENTGEN", tag.PatientID: "SYN-0000002a-0", tag.StudyDate: "20250314",
			tag.StudyTime: "150926", tag.SpecificCharacterSet: "ISO_IR 192", tag.SoftwareVersions: "roentgen test",
			tag.Rows: "16", tag.Columns: "24", tag.SamplesPerPixel: "1", tag.PixelRepresentation: "0",
			tag.BitsAllocated: strconv.Itoa(bits), tag.BitsStored: strconv.Itoa(bits), tag.HighBit: strconv.Itoa(bits - 1),
		} {
			if got := str(t, ds, tg); got != v {
				t.Errorf("%d bits: %s = %q, want %q", bits, tag.DebugString(tg), got, v)
			}
		}
		comments := str(t, ds, tag.ImageComments)
		for _, s := range []string{"SYNTHETIC IMAGE", meta.Prompt, "negative prompt: text, labels", "seed: 4242", meta.Model, `{"steps":2}`} {
			if !strings.Contains(comments, s) {
				t.Errorf("ImageComments lacks %q: %q", s, comments)
			}
		}
		if d := str(t, ds, tag.DerivationDescription); !strings.Contains(d, "seed 4242") || !strings.Contains(d, meta.Prompt) {
			t.Errorf("DerivationDescription = %q", d)
		}
		sop := str(t, ds, tag.SOPInstanceUID)
		if sop != str(t, ds, tag.MediaStorageSOPInstanceUID) || !uidPattern.MatchString(sop) {
			t.Errorf("SOP Instance UID %q (meta %q)", sop, str(t, ds, tag.MediaStorageSOPInstanceUID))
		}
		px, err := ds.FindElementByTag(tag.PixelData)
		if err != nil {
			t.Fatal(err)
		}
		if px.RawValueRepresentation != map[int]string{8: "OB", 16: "OW"}[bits] {
			t.Errorf("%d bits: pixel data VR %s", bits, px.RawValueRepresentation)
		}
		f, err := godicom.MustGetPixelDataInfo(px.Value).Frames[0].GetNativeFrame()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want {
			if f.Data[i][0] != v {
				t.Fatalf("%d bits: pixel %d = %d, want %d", bits, i, f.Data[i][0], v)
			}
		}
	}
}

var uidPattern = regexp.MustCompile(`^2\.25\.[1-9][0-9]{0,38}$`)

func TestNewUIDFreshAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := NewUID()
		if !uidPattern.MatchString(u) || len(u) > 64 || seen[u] {
			t.Fatalf("bad or repeated UID %q", u)
		}
		seen[u] = true
	}
	// Two images never share study, series or instance UIDs.
	a, b := write(t, []uint8{1, 2}, 2, 1, Meta{}), write(t, []uint8{1, 2}, 2, 1, Meta{})
	da, _ := godicom.ParseFile(a, nil)
	db, _ := godicom.ParseFile(b, nil)
	for _, tg := range []tag.Tag{tag.SOPInstanceUID, tag.StudyInstanceUID, tag.SeriesInstanceUID} {
		if str(t, da, tg) == str(t, db, tg) {
			t.Errorf("%s repeated: %s", tag.DebugString(tg), str(t, da, tg))
		}
	}
	if id := str(t, da, tag.PatientID); !strings.HasPrefix(id, "SYN-") || len(id) != 20 {
		t.Errorf("default patient ID %q", id)
	}
}

func TestWriteRejects(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		err  error
		want string
	}{
		{Write(&buf, make([]uint8, 5), 2, 2, meta), "dicom: 5 samples for a 2x2 image"},
		{Write(&buf, []uint16{}, 0, 2, meta), "dicom: image size 0x2 is outside 1..65535"},
		{Write(&buf, []uint8{0}, 1, 1, Meta{PatientID: strings.Repeat("x", 65)}), "longer than 64 characters"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("got %v, want %q", c.err, c.want)
		}
	}
}

func TestLongPromptFitsValueLimits(t *testing.T) {
	m := meta
	m.Prompt = strings.Repeat("é", 6000) // 12000 bytes: over ST's 1024 and LT's 10240
	m.Software = "roentgen v1.2.3 (revision 0123456789abcdef0123456789abcdef01234567+dirty, go1.26.8, linux/amd64)"
	ds, err := godicom.ParseFile(write(t, []uint8{0, 0}, 2, 1, m), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, c := str(t, ds, tag.DerivationDescription), str(t, ds, tag.ImageComments)
	if len(d) > 1024 || len(c) > 10240 || !strings.HasSuffix(d, "é") || !strings.HasSuffix(c, "é") {
		t.Errorf("DerivationDescription %d bytes, ImageComments %d bytes, cut inside a character?", len(d), len(c))
	}
	if s := str(t, ds, tag.SoftwareVersions); s != m.Software[:64] {
		t.Errorf("SoftwareVersions %q (%d bytes), want the first 64", s, len(s))
	}
}

// TestDCMTKAcceptsFiles runs dcmtk's parser and dicom3tools' IOD verifier
// on both bit depths (apt-get install -y dcmtk dicom3tools); each skips
// when its tool is not installed.
func TestDCMTKAcceptsFiles(t *testing.T) {
	files := []string{write(t, []uint8{0, 64, 128, 255}, 2, 2, meta), write(t, []uint16{0, 1000, 40000, 65535}, 2, 2, meta)}
	ran := false
	if _, err := exec.LookPath("dcmdump"); err == nil {
		ran = true
		for _, f := range files {
			out, err := exec.Command("dcmdump", "-E", "+U8", f).CombinedOutput()
			if err != nil || strings.Contains(string(out), "E: ") || strings.Contains(string(out), "W: ") {
				t.Errorf("dcmdump %s: %v\n%s", f, err, out)
			}
			for _, s := range []string{"=SecondaryCaptureImageStorage", "[SYN]", "[NO]", "[SYNTHETIC^ROENTGEN]", "[MONOCHROME2]", "Little Endian Explicit"} {
				if !strings.Contains(string(out), s) {
					t.Errorf("dcmdump %s lacks %q", f, s)
				}
			}
		}
	}
	if _, err := exec.LookPath("dciodvfy"); err == nil {
		ran = true
		for _, f := range files {
			// dciodvfy exits 0 even when it reports errors: read its output.
			out, _ := exec.Command("dciodvfy", f).CombinedOutput()
			if strings.Contains(string(out), "Error") || strings.Contains(string(out), "Warning") || !strings.Contains(string(out), "SCImage") {
				t.Errorf("dciodvfy %s:\n%s", f, out)
			}
		}
	}
	if !ran {
		t.Skip("neither dcmdump nor dciodvfy is installed (apt-get install -y dcmtk dicom3tools)")
	}
}
