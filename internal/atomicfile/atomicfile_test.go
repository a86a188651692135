package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWrite: the file appears whole with the umask's mode, and a failed
// write leaves neither the file nor a temporary one.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		umask int
		mode  os.FileMode
	}{{0o022, 0o644}, {0o077, 0o600}} {
		old := syscall.Umask(c.umask)
		path := filepath.Join(dir, "x.png")
		err := Write(path, ".x.png.tmp", func(w io.Writer) error { _, err := w.Write([]byte("data")); return err })
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if b, _ := os.ReadFile(path); err != nil || string(b) != "data" || st.Mode().Perm() != c.mode {
			t.Errorf("umask %o: %q, mode %v, want %v", c.umask, b, st.Mode().Perm(), c.mode)
		}
	}
	boom := errors.New("boom")
	if err := Write(filepath.Join(dir, "y.png"), ".y.png.tmp", func(w io.Writer) error { w.Write([]byte("part")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left %v", entries)
	}
}
