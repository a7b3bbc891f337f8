#pragma once
// Location fields (CODE_FILE...) would name chainwatch's C shim, not anything useful; the macro form is not callable anyway.
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#include <sys/socket.h>
#include <sys/un.h>
