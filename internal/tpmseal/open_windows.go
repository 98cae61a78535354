package tpmseal

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The TPM Base Services (tbs.dll): a context for TPM 2.0 commands, each
// submitted whole with its response written to a caller's buffer.
var (
	tbs              = windows.NewLazySystemDLL("tbs.dll")
	tbsCreateContext = tbs.NewProc("Tbsi_Context_Create")
	tbsSubmitCommand = tbs.NewProc("Tbsip_Submit_Command")
	tbsContextClose  = tbs.NewProc("Tbsip_Context_Close")
)

const (
	tbsContextVersionTwo = 2
	tbsIncludeTPM20      = 1 << 2 // TBS_CONTEXT_PARAMS2.includeTpm20
	tbsLocalityZero      = 0
	tbsPriorityNormal    = 200
)

// Open opens the system's TPM through TBS; dev must be "".
func Open(_ context.Context, dev string) (Device, error) {
	if dev != "" {
		return nil, errors.New("on Windows kr uses the system's TPM (TBS): unset KR_TPM")
	}
	if err := tbsCreateContext.Find(); err != nil {
		return nil, err
	}
	params := struct{ version, flags uint32 }{tbsContextVersionTwo, tbsIncludeTPM20}
	var ctx uintptr
	rc, _, _ := tbsCreateContext.Call(uintptr(unsafe.Pointer(&params)), uintptr(unsafe.Pointer(&ctx)))
	if rc != 0 {
		return nil, tbsError(rc)
	}
	return &tbsTPM{ctx}, nil
}

type tbsTPM struct{ ctx uintptr }

func (t *tbsTPM) Send(cmd []byte) ([]byte, error) {
	buf := make([]byte, maxResponse)
	n := uint32(len(buf))
	rc, _, _ := tbsSubmitCommand.Call(t.ctx, tbsLocalityZero, tbsPriorityNormal,
		uintptr(unsafe.Pointer(&cmd[0])), uintptr(len(cmd)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)))
	if rc != 0 {
		return nil, tbsError(rc)
	}
	if n > uint32(len(buf)) {
		return nil, errResponse
	}
	return buf[:n], nil
}

func (t *tbsTPM) Close() error {
	if rc, _, _ := tbsContextClose.Call(t.ctx); rc != 0 {
		return tbsError(rc)
	}
	return nil
}

func tbsError(rc uintptr) error {
	switch uint32(rc) {
	case 0x8028400F:
		return errors.New("no TPM 2.0 found (TBS_E_TPM_NOT_FOUND)")
	case 0x80284008:
		return errors.New("the TPM Base Services are not running (TBS_E_SERVICE_NOT_RUNNING)")
	}
	return fmt.Errorf("TBS error 0x%08X", uint32(rc))
}
