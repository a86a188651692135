package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// file writes a prompt file into a fresh folder and returns its path.
func file(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type row struct {
	line         int
	prompt, name string
	meta         string
}

func check(t *testing.T, p *Prompts, want []row) {
	t.Helper()
	if len(p.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(p.Rows), len(want), p.Rows)
	}
	for i, w := range want {
		r := p.Rows[i]
		if r.ID != i || r.Line != w.line || r.Prompt != w.prompt || r.Name != w.name || string(r.Meta) != w.meta {
			t.Errorf("row %d = {%d %d %q %q %s}, want {%d %d %q %q %s}", i, r.ID, r.Line, r.Prompt, r.Name, r.Meta, i, w.line, w.prompt, w.name, w.meta)
		}
	}
}

func TestReadCSV(t *testing.T) {
	// RoentGen-v2's demographic prompt layout, with a BOM, a quoted
	// two-line impression and CRLF line ends.
	content := "\ufeffdicom_id,gender,anchor_age,race,impression,prompt\r\n" +
		"02aa804e-bde0afdd,F,63,WHITE,\"Small effusion,\nno pneumothorax\",\"63 year old white female. Small effusion.\"\r\n" +
		"\r\n" +
		"174413ec-4ec4c1f7,M,41,ASIAN,Normal.,\"41 year old asian male. No acute process.\"\r\n"
	path := file(t, "prompts.csv", content)
	p, err := Read(path, "prompt")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	if p.Format != "csv" || p.Column != "prompt" || p.SHA256 != hex.EncodeToString(sum[:]) || p.NameColumn != "dicom_id" || p.NameNote != "" {
		t.Errorf("got %s %q %s %q %q", p.Format, p.Column, p.SHA256, p.NameColumn, p.NameNote)
	}
	check(t, p, []row{
		{2, "63 year old white female. Small effusion.", "02aa804e-bde0afdd", `{"dicom_id":"02aa804e-bde0afdd","gender":"F","anchor_age":"63","race":"WHITE","impression":"Small effusion,\nno pneumothorax"}`},
		{5, "41 year old asian male. No acute process.", "174413ec-4ec4c1f7", `{"dicom_id":"174413ec-4ec4c1f7","gender":"M","anchor_age":"41","race":"ASIAN","impression":"Normal."}`},
	})
	// Another column chosen by name.
	p, err = Read(path, "impression")
	if err != nil || p.Rows[1].Prompt != "Normal." || !strings.Contains(string(p.Rows[1].Meta), `"prompt":"41 year old`) {
		t.Errorf("--prompt-column impression: %v %+v", err, p)
	}
}

func TestReadJSONL(t *testing.T) {
	content := `{"prompt": "Cardiomegaly.", "id": 12345678901234567890, "tags": ["a", "b"]}` + "\n\n" +
		`{"id": 7, "prompt": "Pneumothorax é."}` + "\r\n"
	p, err := Read(file(t, "p.jsonl", content), "prompt")
	if err != nil {
		t.Fatal(err)
	}
	// Numbers keep their text (no float rounding); keys are sorted.
	check(t, p, []row{
		{1, "Cardiomegaly.", "12345678901234567890", `{"id":12345678901234567890,"tags":["a","b"]}`},
		{3, "Pneumothorax é.", "7", `{"id":7}`},
	})
}

func TestReadText(t *testing.T) {
	p, err := Read(file(t, "p.txt", "Small left pleural effusion, no pneumothorax.\n\n   \r\nCardiomegaly.\r\n"), "ignored")
	if err != nil {
		t.Fatal(err)
	}
	// Blank lines are not rows (ids stay contiguous) but keep line numbers.
	check(t, p, []row{{1, "Small left pleural effusion, no pneumothorax.", "00000000", ""}, {4, "Cardiomegaly.", "00000001", ""}})
	if p.Format != "txt" || p.Column != "" {
		t.Errorf("format %s column %q", p.Format, p.Column)
	}
}

func TestSniffFormat(t *testing.T) {
	for content, want := range map[string]string{
		"  {\"prompt\": \"x\"}\n":               "jsonl",
		"id,prompt\n1,Cardiomegaly.\n":          "csv",
		"Effusion, left, small.\nCardiomegaly.": "txt",
		"prompt\nCardiomegaly.\n":               "txt", // one field is no table
	} {
		p, err := Read(file(t, "prompts", content), "prompt")
		if err != nil || p.Format != want {
			t.Errorf("%q: format %v, err %v; want %s", content, p, err, want)
		}
	}
}

func TestReadErrorsNameLine(t *testing.T) {
	for _, c := range []struct{ name, content, column, want string }{
		{"p.csv", "id,prompt\n1,Effusion.\n2,\"  \"\n", "prompt", `p.csv:3: column "prompt": empty prompt`},
		{"p.csv", "id,prompt\n1,Effusion.\n2,x,extra\n", "prompt", "p.csv:3: 3 fields, the header has 2"},
		{"p.csv", "id,text\n1,Effusion.\n", "prompt", `p.csv:1: no column "prompt" (use --prompt-column); the columns are id, text`},
		{"p.csv", "id,prompt\n1,Eff\xffusion.\n", "prompt", `p.csv:2: column "prompt": invalid UTF-8`},
		{"p.csv", "id,prompt,id\n", "prompt", `p.csv:1: column "id" appears twice`},
		{"p.csv", "\nid,text\n1,x\n", "prompt", `p.csv:2: no column "prompt"`},
		{"p.csv", "id,prompt\n1,Eff\"usion\n", "prompt", `p.csv:2:6: bare " in non-quoted-field`},
		{"p.csv", "", "prompt", "p.csv: empty file, expected a header line"},
		{"p.csv", "id,prompt\n", "prompt", "p.csv: no prompts"},
		{"p.jsonl", "{\"prompt\":\"a\"}\n[1]\n", "prompt", "p.jsonl:2: not a JSON object"},
		{"p.jsonl", "{\"prompt\":\"a\"}\n\n{\"text\":\"b\",\"id\":1}\n", "prompt", `p.jsonl:3: no key "prompt" (use --prompt-column); the keys are id, text`},
		{"p.jsonl", "{\"prompt\":3}\n", "prompt", `p.jsonl:1: key "prompt": the prompt must be a string, got 3`},
		{"p.jsonl", "{\"prompt\":\"\"}\n", "prompt", `p.jsonl:1: key "prompt": empty prompt`},
		{"p.jsonl", "{\"prompt\":\"\xfe\"}\n", "prompt", "p.jsonl:1: invalid UTF-8"},
		{"p.txt", "ok\n\nbad \xc3\x28\n", "prompt", "p.txt:3: invalid UTF-8"},
		{"p.txt", "\n \n", "prompt", "p.txt: no prompts"},
		{"p.txt", "ok\n" + strings.Repeat("x", 40000) + "\n", "prompt", "p.txt:2: the prompt is 40000 bytes, more than the 32768 roentgen reads"},
		{"p.csv", "id,prompt\n1,\"" + strings.Repeat("x ", 20000) + "\"\n", "prompt", "p.csv:2: the prompt is 40000 bytes"},
		{"p.jsonl", "{\"prompt\":\"" + strings.Repeat("x", 32769) + "\"}\n", "prompt", "p.jsonl:1: the prompt is 32769 bytes"},
	} {
		path := file(t, c.name, c.content)
		_, err := Read(path, c.column)
		want := filepath.Join(filepath.Dir(path), c.want)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", c.content, err, want)
		}
	}
}

func TestNameColumn(t *testing.T) {
	for _, c := range []struct{ content, column, first, note string }{
		{"id,prompt\nA-1,x\nb.2,y\n", "id", "A-1", ""},
		{"dicom_id,id,prompt\nd1,i1,x\nd2,i2,y\n", "dicom_id", "d1", ""},
		{"id,prompt\na/b,x\nc,y\n", "", "00000000", `column "id" does not name the files, rows are numbered instead: `},
		{"id,prompt\nAb,x\naB,y\n", "", "00000000", `"aB" repeats line 2`},
		{"id,prompt\n.hidden,x\n", "", "00000000", `".hidden" is not a safe file name`},
		{"prompt\nx\n", "", "00000000", ""},
	} {
		p, err := Read(file(t, "p.csv", c.content), "prompt")
		if err != nil {
			t.Fatal(err)
		}
		if p.NameColumn != c.column || p.Rows[0].Name != c.first || !strings.Contains(p.NameNote, c.note) || (c.note == "") != (p.NameNote == "") {
			t.Errorf("%q: column %q, first name %q, note %q", c.content, p.NameColumn, p.Rows[0].Name, p.NameNote)
		}
	}
}

func TestFileNameAndPatientID(t *testing.T) {
	p := &Prompts{SHA256: "ab", Rows: []Row{{Name: "00000000"}, {Name: "00000001"}, {Name: "s17"}}}
	if got := p.FileName(Item{Index: 5, Row: 2, Image: 1}, ".png"); got != "s17-1.png" {
		t.Errorf("file name %q", got)
	}
	a, b := p.PatientID(Item{Index: 5}), p.PatientID(Item{Index: 6})
	if a == b || len(a) != 20 || !strings.HasPrefix(a, "SYN-") || a != p.PatientID(Item{Index: 5, Row: 2, Image: 1}) {
		t.Errorf("patient IDs %q %q", a, b)
	}
}
