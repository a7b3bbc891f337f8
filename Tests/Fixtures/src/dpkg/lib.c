/*
 * lib.c - one tiny benign shared library for make-dpkg-root.sh.
 *
 * Built once per fixture library with -DCW_FUNC=<exported function name>
 * and -DCW_ID="<identification string>"; the SONAME comes from the link
 * line.  CW_ID sits in .rodata; make-dpkg-root.sh changes one byte of it
 * to "tamper" a library after dpkg installed it (the file stays valid ELF
 * and keeps its size).
 */
static const char id[] = CW_ID;

const char *CW_FUNC(void)
{
	return id;
}
