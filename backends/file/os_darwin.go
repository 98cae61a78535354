package file

const isDarwin = true
