// The Openwall detect.sh signature (CVE-2024-3094, the backdoor's _get_cpuid
// prologue), the same 34 bytes chainwatch's xz-backdoor-sig-openwall-detect-sh
// rule and bench/openwall-detect.sh look for.
rule xz_backdoor_openwall_signature
{
    strings:
        $sig = { f3 0f 1e fa 55 48 89 f5 4c 89 ce 53 89 fb 81 e7 00 00 00 80 48 83 ec 28 48 89 54 24 18 48 89 4c 24 10 }
    condition:
        $sig
}
