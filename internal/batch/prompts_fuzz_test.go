package batch

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzRead parses arbitrary bytes as each kind of prompt file: never a
// panic, and an accepted file has rows with valid UTF-8 prompts, increasing
// lines, and distinct file-name stems.
func FuzzRead(f *testing.F) {
	f.Add([]byte("dicom_id,gender,anchor_age,race,impression,prompt\nd1,F,63,WHITE,x,\"Large right-sided pleural effusion.\"\n"))
	f.Add([]byte("{\"prompt\": \"Cardiomegaly.\", \"id\": \"a\"}\n\n{\"prompt\": \"x\"}\n"))
	f.Add([]byte("No acute process.\n\n  \nBibasilar atelectasis.\n"))
	f.Add([]byte("prompt\n\"unterminated\n"))
	f.Add([]byte{0xff, 0xfe, '\n', 'a'})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ext := range []string{".csv", ".jsonl", ".txt", ".dat"} {
			path := filepath.Join(dir, "prompts"+ext)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := Read(path, "prompt")
			if err != nil {
				continue
			}
			names := map[string]bool{}
			last := 0
			for i, r := range p.Rows {
				if r.ID != i || r.Line <= last || !utf8.ValidString(r.Prompt) || names[r.Name] {
					t.Fatalf("%s: bad row %d: %+v", ext, i, r)
				}
				names[r.Name], last = true, r.Line
			}
		}
	})
}
