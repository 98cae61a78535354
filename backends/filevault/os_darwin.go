package filevault

const isDarwin = true
