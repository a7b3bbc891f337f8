#pragma once
#include <archive.h>
#include <archive_entry.h>

// Macros Swift cannot import, as values.
static const int cw_archive_ok = ARCHIVE_OK;
static const int cw_archive_eof = ARCHIVE_EOF;
static const int cw_archive_warn = ARCHIVE_WARN;
static const int cw_archive_retry = ARCHIVE_RETRY;
static const int cw_archive_fatal = ARCHIVE_FATAL;
static const unsigned cw_ae_ifmt = AE_IFMT;
static const unsigned cw_ae_ifreg = AE_IFREG;
static const unsigned cw_ae_ifdir = AE_IFDIR;
static const unsigned cw_ae_iflnk = AE_IFLNK;
static const unsigned cw_ae_ifchr = AE_IFCHR;
static const unsigned cw_ae_ifblk = AE_IFBLK;
static const unsigned cw_ae_ififo = AE_IFIFO;
static const unsigned cw_ae_ifsock = AE_IFSOCK;

// The disk writer's options: refuse symlinked paths and "..", unlink existing files (never write through a hard
// link or symlink), restore modification times only; no ARCHIVE_EXTRACT_OWNER, PERM (so no setuid), ACL, XATTR.
static const int cw_extract_secure_options = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT
    | ARCHIVE_EXTRACT_UNLINK | ARCHIVE_EXTRACT_TIME;
