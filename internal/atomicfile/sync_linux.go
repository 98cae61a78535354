package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// On Linux one syncfs(2) per file system flushes every staged file of a
// Batch: one journal commit instead of one per file.
const syncAllAtOnce = true

func syncFileSystems(dirs map[string]bool) error {
	done := map[uint64]bool{}
	for dir := range dirs {
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			return err
		}
		if done[st.Dev] {
			continue
		}
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		err = unix.Syncfs(int(d.Fd()))
		d.Close()
		if err != nil {
			return err
		}
		done[st.Dev] = true
	}
	return nil
}
