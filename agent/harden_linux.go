package agent

import "golang.org/x/sys/unix"

func denyInspection() { unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) }

func excludeFromDump(b []byte) { unix.Madvise(b, unix.MADV_DONTDUMP) }
