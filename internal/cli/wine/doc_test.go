// Package wine_test runs kr.exe, cross-built for Windows, under wine: the
// Credential Manager, the agent on its named pipe, and prompts with no
// console. They live apart from internal/cli's own tests because each
// starts a wine prefix and builds kr.exe, minutes on a busy machine, and a
// test binary has one timeout for everything in it.
package wine_test
