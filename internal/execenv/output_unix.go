//go:build !windows

package execenv

import (
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// drainLimit bounds what is read after the child exited. All the child
// wrote is then in the pipe's buffer (64 KiB by default on Linux and
// macOS, at most 1 MiB unprivileged on Linux); more can only come from a
// background process still writing, which must not keep kr running.
const drainLimit = 1 << 20

// outputs copies the child's non-file stdout and stderr from pipes kr
// owns, so that it can stop reading when the child exits.
type outputs struct {
	pipes []*outputPipe
}

type outputPipe struct {
	r, w   *os.File // w is the child's end, closed in kr once it started
	to     io.Writer
	failed bool // to failed: the rest is read and dropped, so the child never blocks
	done   chan struct{}
}

// attachOutputs gives cmd stdout and stderr: files as they are, other
// writers through a pipe read by a goroutine.
func attachOutputs(cmd *exec.Cmd, stdout, stderr io.Writer) (*outputs, error) {
	o := &outputs{}
	for i, w := range []io.Writer{stdout, stderr} {
		var attach io.Writer = w
		if _, isFile := w.(*os.File); !isFile && w != nil {
			r, pw, err := os.Pipe()
			if err != nil {
				o.abort()
				return nil, err
			}
			p := &outputPipe{r: r, w: pw, to: w, done: make(chan struct{})}
			o.pipes = append(o.pipes, p)
			go p.copy()
			attach = pw
		}
		if i == 0 {
			cmd.Stdout = attach
		} else {
			cmd.Stderr = attach
		}
	}
	return o, nil
}

// started closes kr's copies of the child's ends, so that EOF comes when
// the child (and whatever inherited them) closes its own.
func (o *outputs) started() {
	for _, p := range o.pipes {
		p.w.Close()
	}
}

// abort releases everything when the child did not start.
func (o *outputs) abort() {
	o.started()
	for _, p := range o.pipes {
		p.r.Close()
		<-p.done
	}
}

// finish, called once the child exited, writes what it left in the pipes
// and stops reading: a background process still holding a pipe gets EPIPE
// on its next write instead of keeping kr waiting.
func (o *outputs) finish() {
	for _, p := range o.pipes {
		p.finish()
	}
}

func (p *outputPipe) copy() {
	defer close(p.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := p.r.Read(buf)
		p.write(buf[:n])
		if err != nil {
			return
		}
	}
}

func (p *outputPipe) write(b []byte) {
	if len(b) == 0 || p.failed {
		return
	}
	if _, err := p.to.Write(b); err != nil {
		p.failed = true
	}
}

func (p *outputPipe) finish() {
	defer p.r.Close()
	// A deadline in the past wakes the copier from a Read that waits for
	// more; it may lose the race to a Read that returns data, which it
	// then writes before it stops. Either way the rest stays in the pipe.
	if err := p.r.SetReadDeadline(time.Now()); err != nil {
		<-p.done // no deadlines here: wait for EOF as os/exec would
		return
	}
	<-p.done
	p.r.SetReadDeadline(time.Time{})
	rc, err := p.r.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 32<<10)
	left := drainLimit
	// Read without waiting: what is in the buffer now, and no more.
	rc.Read(func(fd uintptr) bool {
		for left > 0 {
			n, err := syscall.Read(int(fd), buf[:min(len(buf), left)])
			if err == syscall.EINTR {
				continue
			}
			if n <= 0 || err != nil {
				break // EOF, EAGAIN (empty) or an error
			}
			p.write(buf[:n])
			left -= n
		}
		return true
	})
}
