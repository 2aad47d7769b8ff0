#ifndef PORTER_HDF5_SHIM_H
#define PORTER_HDF5_SHIM_H
#include <hdf5.h>

// HDF5's H5P_DEFAULT, H5T_NATIVE_*, H5T_STD_* and H5F_ACC_* are macros (some expand to
// global variables after H5open()); Swift cannot import them, so they are functions here.
hid_t porter_h5p_default(void);
hid_t porter_h5s_all(void);
hid_t porter_h5e_default(void);
hid_t porter_h5p_file_access(void);
hid_t porter_h5p_dataset_create(void);
hid_t porter_h5p_link_create(void);
unsigned porter_h5f_acc_rdonly(void);
unsigned porter_h5f_acc_trunc(void);
unsigned porter_h5f_acc_excl(void);
hid_t porter_h5t_native_int8(void);
hid_t porter_h5t_native_uint8(void);
hid_t porter_h5t_native_int16(void);
hid_t porter_h5t_native_uint16(void);
hid_t porter_h5t_native_int32(void);
hid_t porter_h5t_native_uint32(void);
hid_t porter_h5t_native_int64(void);
hid_t porter_h5t_native_uint64(void);
hid_t porter_h5t_native_float(void);
hid_t porter_h5t_native_double(void);
hid_t porter_h5t_ieee_f32le(void);
hid_t porter_h5t_ieee_f64le(void);
hid_t porter_h5t_std_i8le(void);
hid_t porter_h5t_std_u8le(void);
hid_t porter_h5t_std_i16le(void);
hid_t porter_h5t_std_u16le(void);
hid_t porter_h5t_std_i32le(void);
hid_t porter_h5t_std_u32le(void);
hid_t porter_h5t_std_i64le(void);
hid_t porter_h5t_std_u64le(void);
hid_t porter_h5t_c_s1(void);
size_t porter_h5t_variable(void);
/// Number of ids (file, datasets, groups, types, attributes) open on this file, the file itself included.
ssize_t porter_h5f_open_object_count(hid_t file);
/// Silences HDF5's automatic error printing on the calling thread (the stack is per thread); the
/// handler left in its place prints nothing and notes allocation failures (porter_h5_saw_allocation_failure).
void porter_h5_silence_errors(void);
/// Walks the calling thread's error stack, innermost first, writing "func: message" lines
/// (at most cap-1 bytes, NUL-terminated) into buf. Returns the number of records.
int porter_h5_error_text(char *buf, size_t cap);
/// A little-endian IEEE half float type (HDF5 has no predefined one): the caller closes it.
hid_t porter_h5t_make_f16le(void);
/// A little-endian bfloat16 type (sign 15, exponent 7..14, mantissa 0..6): the caller closes it.
hid_t porter_h5t_make_bf16le(void);
/// Registers (once) a soft conversion from variable-length strings to the opaque type made by
/// porter_h5t_raw_vlen_reference: reading an attribute with it yields each element's on-disk
/// reference (4-byte length, heap address, 4-byte object index) without touching the heap.
int porter_h5_register_raw_vlen_conversion(void);
/// The opaque memory type for raw variable-length references of `size` bytes (the caller closes it).
hid_t porter_h5t_raw_vlen_reference(size_t size);
/// The file's address and length sizes (bytes) and user-block size (the base that file
/// addresses are relative to), from its creation property list.
int porter_h5f_sizes(hid_t file, size_t *sizeof_addr, size_t *sizeof_size, unsigned long long *userblock);

// MARK: confinement (docs/security.md (HDF5 confinement))
/// Turns libhdf5's dynamic plugin loading off (H5PLset_loading_state(0)): no filter library is
/// ever loaded from HDF5_PLUGIN_PATH or the default plugin folder. Returns H5PLset_loading_state's status.
int porter_h5_disable_plugins(void);
/// The current plugin loading mask (0 when loading is off), or -1 on failure.
long long porter_h5_plugin_loading_state(void);
/// A file access property list with the POSIX (sec2) driver set explicitly; the caller closes it.
hid_t porter_h5p_confined_fapl(void);
/// A file access property list with the stdio driver: it opens `/proc/self/fd/N` of a file that
/// has no name (libhdf5's sec2 driver resolves symbolic links with realpath(), which fails there).
hid_t porter_h5p_stdio_fapl(void);
/// Facts about link `name` of group `loc`, without traversing it: its type (H5L_type_t value),
/// for a hard link the object address, for a soft link its target path (in `target`), for an
/// external link the file (in `target`) and object path (in `object`). Strings are NUL-terminated
/// and truncated to the buffer. Returns 0, or -1 when libhdf5 fails.
int porter_h5_link(hid_t loc, const char *name, int *type, unsigned long long *address,
                   char *target, size_t target_cap, char *object, size_t object_cap);
/// Link type values (H5L_type_t) as ints.
int porter_h5l_type_hard(void);
int porter_h5l_type_soft(void);
int porter_h5l_type_external(void);
/// 1 when any failed libhdf5 call (or error stack walked by porter_h5_error_text) so far held a memory allocation
/// failure (H5E_CANTALLOC / H5E_NOSPACE / major H5E_RESOURCE), else 0.
int porter_h5_saw_allocation_failure(void);
/// A new file holding `count` bytes of `src_fd` from `offset`, with no name in `dir`
/// (O_TMPFILE, or a file created and unlinked at once where O_TMPFILE is unsupported), so no
/// exit path (SIGKILL included) leaves it behind. Returns its descriptor (O_CLOEXEC), or -1 with errno.
int porter_anonymous_copy(int src_fd, long long offset, long long count, const char *dir);
/// setrlimit(RLIMIT_AS) to `bytes` (soft and hard; never above an existing lower hard limit) and RLIMIT_CORE to 0. Returns 0 or -1 with errno.
int porter_limit_address_space(unsigned long long bytes);
/// This process's hard RLIMIT_AS (inherited by children), or 0 when unlimited.
unsigned long long porter_address_space_hard_limit(void);
/// Asks the kernel to SIGKILL this process when its parent ends (Linux prctl PR_SET_PDEATHSIG).
/// Returns 0, or -1 when that failed or the parent is already gone.
int porter_die_with_parent(void);
#endif
