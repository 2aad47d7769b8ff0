#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#if defined(__linux__)
#include <sys/prctl.h>
#include <signal.h>
#endif
#include "hdf5_shim.h"
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <H5PLpublic.h>

hid_t porter_h5p_default(void) { return H5P_DEFAULT; }
hid_t porter_h5s_all(void) { return H5S_ALL; }
hid_t porter_h5e_default(void) { return H5E_DEFAULT; }
hid_t porter_h5p_file_access(void) { return H5P_FILE_ACCESS; }
hid_t porter_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
hid_t porter_h5p_link_create(void) { return H5P_LINK_CREATE; }
unsigned porter_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
unsigned porter_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
unsigned porter_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
hid_t porter_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
hid_t porter_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
hid_t porter_h5t_native_int16(void) { return H5T_NATIVE_INT16; }
hid_t porter_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
hid_t porter_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
hid_t porter_h5t_native_uint32(void) { return H5T_NATIVE_UINT32; }
hid_t porter_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
hid_t porter_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
hid_t porter_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
hid_t porter_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
hid_t porter_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
hid_t porter_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
hid_t porter_h5t_std_i8le(void) { return H5T_STD_I8LE; }
hid_t porter_h5t_std_u8le(void) { return H5T_STD_U8LE; }
hid_t porter_h5t_std_i16le(void) { return H5T_STD_I16LE; }
hid_t porter_h5t_std_u16le(void) { return H5T_STD_U16LE; }
hid_t porter_h5t_std_i32le(void) { return H5T_STD_I32LE; }
hid_t porter_h5t_std_u32le(void) { return H5T_STD_U32LE; }
hid_t porter_h5t_std_i64le(void) { return H5T_STD_I64LE; }
hid_t porter_h5t_std_u64le(void) { return H5T_STD_U64LE; }
hid_t porter_h5t_c_s1(void) { return H5T_C_S1; }
size_t porter_h5t_variable(void) { return H5T_VARIABLE; }

static volatile int porter_allocation_failure_seen = 0;
int porter_h5_saw_allocation_failure(void) { return porter_allocation_failure_seen; }

static herr_t porter_note_allocation(unsigned n, const H5E_error2_t *err, void *data) {
    (void)n; (void)data;
    if (err->min_num == H5E_CANTALLOC || err->min_num == H5E_NOSPACE || err->maj_num == H5E_RESOURCE)
        porter_allocation_failure_seen = 1;
    return 0;
}

// libhdf5 calls the "automatic" error handler whenever an API call fails, before anyone can
// clear the stack: this one prints nothing and only notes allocation failures, so the
// reader child knows libhdf5 ran out of its memory cap even where Porter ignores the
// failed call's error text.
static herr_t porter_auto_handler(hid_t stack, void *data) {
    (void)data;
    H5Ewalk2(stack, H5E_WALK_DOWNWARD, porter_note_allocation, NULL);
    return 0;
}

void porter_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, porter_auto_handler, NULL); }

struct porter_error_text { char *buf; size_t cap; size_t used; int count; };

static herr_t porter_walk(unsigned n, const H5E_error2_t *err, void *data) {
    struct porter_error_text *t = (struct porter_error_text *)data;
    (void)n;
    t->count++;
    if (err->min_num == H5E_CANTALLOC || err->min_num == H5E_NOSPACE || err->maj_num == H5E_RESOURCE)
        porter_allocation_failure_seen = 1;
    if (t->cap == 0 || t->used + 1 >= t->cap) return 0;
    int w = snprintf(t->buf + t->used, t->cap - t->used, "%s%s: %s", t->used ? "; " : "",
                     err->func_name ? err->func_name : "?", err->desc ? err->desc : "");
    if (w > 0) {
        size_t room = t->cap - t->used - 1;
        t->used += ((size_t)w < room) ? (size_t)w : room;
    }
    return 0;
}

int porter_h5_error_text(char *buf, size_t cap) {
    struct porter_error_text t = { buf, cap, 0, 0 };
    if (cap) buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, porter_walk, &t);
    H5Eclear2(H5E_DEFAULT);
    return t.count;
}

hid_t porter_h5t_make_f16le(void) {
    // IEEE binary16: sign bit 15, exponent bits 10..14 (bias 15), mantissa bits 0..9.
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

hid_t porter_h5t_make_bf16le(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 7, 8, 0, 7) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 127) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

ssize_t porter_h5f_open_object_count(hid_t file) { return H5Fget_obj_count(file, H5F_OBJ_ALL); }

// MARK: raw variable-length references
//
// libhdf5 1.10.8 turns a variable-length string's on-disk reference (sequence length,
// global-heap collection address, object index) into memory by copying the heap object
// without checking it against the length or the collection's object table, so a corrupt
// reference crashes the process. This soft conversion from a variable-length string to an
// opaque type tagged PORTER_RAW_VLEN_TAG leaves the on-disk reference bytes untouched
// (same size, converted in place), so Porter can check them before letting libhdf5 read.

#define PORTER_RAW_VLEN_TAG "porter.raw-vlen-reference"

static herr_t porter_raw_vlen_conv(hid_t src_id, hid_t dst_id, H5T_cdata_t *cdata, size_t nelmts,
                                   size_t buf_stride, size_t bkg_stride, void *buf, void *bkg, hid_t dxpl) {
    (void)nelmts; (void)bkg_stride; (void)bkg; (void)dxpl;
    switch (cdata->command) {
    case H5T_CONV_INIT: {
        cdata->need_bkg = H5T_BKG_NO;
        if (H5Tis_variable_str(src_id) <= 0) return -1;
        if (H5Tget_class(dst_id) != H5T_OPAQUE) return -1;
        char *tag = H5Tget_tag(dst_id);
        if (!tag) return -1;
        int ours = strcmp(tag, PORTER_RAW_VLEN_TAG) == 0;
        H5free_memory(tag);
        if (!ours) return -1;
        // In place only: the destination must be exactly the on-disk reference size.
        if (H5Tget_size(src_id) != H5Tget_size(dst_id)) return -1;
        return 0;
    }
    case H5T_CONV_CONV:
        // Same size, packed, converted in place: the bytes already are the result.
        if (buf_stride != 0 && buf_stride != H5Tget_size(src_id)) return -1;
        (void)buf;
        return 0;
    case H5T_CONV_FREE:
        return 0;
    default:
        return -1;
    }
}

int porter_h5_register_raw_vlen_conversion(void) {
    static int registered = 0;   // guarded by the caller (Swift runs it once)
    if (registered) return 0;
    hid_t src = H5Tcopy(H5T_C_S1);
    if (src < 0) return -1;
    if (H5Tset_size(src, H5T_VARIABLE) < 0) { H5Tclose(src); return -1; }
    hid_t dst = H5Tcreate(H5T_OPAQUE, 16);
    if (dst < 0) { H5Tclose(src); return -1; }
    H5Tset_tag(dst, PORTER_RAW_VLEN_TAG);
    herr_t r = H5Tregister(H5T_PERS_SOFT, "porter_raw_vlen", src, dst, porter_raw_vlen_conv);
    H5Tclose(src);
    H5Tclose(dst);
    if (r < 0) return -1;
    registered = 1;
    return 0;
}

hid_t porter_h5t_raw_vlen_reference(size_t size) {
    hid_t t = H5Tcreate(H5T_OPAQUE, size);
    if (t < 0) return t;
    if (H5Tset_tag(t, PORTER_RAW_VLEN_TAG) < 0) { H5Tclose(t); return -1; }
    return t;
}

int porter_h5f_sizes(hid_t file, size_t *sizeof_addr, size_t *sizeof_size, unsigned long long *userblock) {
    hid_t fcpl = H5Fget_create_plist(file);
    if (fcpl < 0) return -1;
    hsize_t ub = 0;
    herr_t r = H5Pget_sizes(fcpl, sizeof_addr, sizeof_size);
    herr_t u = H5Pget_userblock(fcpl, &ub);
    H5Pclose(fcpl);
    *userblock = (unsigned long long)ub;
    return (r < 0 || u < 0) ? -1 : 0;
}

// MARK: confinement

int porter_h5_disable_plugins(void) { return (int)H5PLset_loading_state(0); }

long long porter_h5_plugin_loading_state(void) {
    unsigned mask = 0;
    if (H5PLget_loading_state(&mask) < 0) return -1;
    return (long long)mask;
}

hid_t porter_h5p_confined_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    if (H5Pset_fapl_sec2(fapl) < 0) { H5Pclose(fapl); return -1; }
    return fapl;
}

hid_t porter_h5p_stdio_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    if (H5Pset_fapl_stdio(fapl) < 0) { H5Pclose(fapl); return -1; }
    return fapl;
}

int porter_h5l_type_hard(void) { return (int)H5L_TYPE_HARD; }
int porter_h5l_type_soft(void) { return (int)H5L_TYPE_SOFT; }
int porter_h5l_type_external(void) { return (int)H5L_TYPE_EXTERNAL; }

static void porter_copy_string(char *dst, size_t cap, const char *src, size_t n) {
    if (cap == 0) return;
    size_t m = n < cap - 1 ? n : cap - 1;
    if (src && m) memcpy(dst, src, m);
    dst[m] = 0;
}

int porter_h5_link(hid_t loc, const char *name, int *type, unsigned long long *address,
                   char *target, size_t target_cap, char *object, size_t object_cap) {
    H5L_info_t info;
    if (target_cap) target[0] = 0;
    if (object_cap) object[0] = 0;
    *address = 0;
    if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) return -1;
    *type = (int)info.type;
    if (info.type == H5L_TYPE_HARD) {
        *address = (unsigned long long)info.u.address;
        return 0;
    }
    size_t size = info.u.val_size;
    if (size == 0 || size > (1u << 20)) return info.type == H5L_TYPE_SOFT || info.type == H5L_TYPE_EXTERNAL ? -1 : 0;
    char *buf = malloc(size + 1);
    if (!buf) return -1;
    if (H5Lget_val(loc, name, buf, size, H5P_DEFAULT) < 0) { free(buf); return -1; }
    buf[size] = 0;
    if (info.type == H5L_TYPE_SOFT) {
        porter_copy_string(target, target_cap, buf, strnlen(buf, size));
    } else if (info.type == H5L_TYPE_EXTERNAL) {
        unsigned flags = 0;
        const char *file = NULL, *obj = NULL;
        if (H5Lunpack_elink_val(buf, size, &flags, &file, &obj) < 0) { free(buf); return -1; }
        porter_copy_string(target, target_cap, file, file ? strnlen(file, size) : 0);
        porter_copy_string(object, object_cap, obj, obj ? strnlen(obj, size) : 0);
    }
    free(buf);
    return 0;
}

int porter_anonymous_copy(int src_fd, long long offset, long long count, const char *dir) {
    int fd = -1;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
    if (fd < 0) {
        size_t n = strlen(dir) + 32;
        char *templ = malloc(n);
        if (!templ) return -1;
        snprintf(templ, n, "%s/porter-XXXXXX", dir);
        fd = mkostemp(templ, O_CLOEXEC);
        if (fd >= 0) unlink(templ);   // nameless from here on
        free(templ);
        if (fd < 0) return -1;
    }
    long long done = 0;
    char *buf = NULL;
    while (done < count) {
        ssize_t w = -1;
#ifdef SYS_copy_file_range
        if (!buf) {
            loff_t in = (loff_t)(offset + done);
            w = syscall(SYS_copy_file_range, src_fd, &in, fd, NULL, (size_t)(count - done), 0u);
            if (w < 0 && errno == EINTR) continue;
        }
#endif
        if (w <= 0) {
            // No kernel copy here (or it made no progress): pread/write through a buffer.
            if (!buf && !(buf = malloc(1 << 20))) { close(fd); return -1; }
            size_t want = (size_t)(count - done) < (1u << 20) ? (size_t)(count - done) : (1u << 20);
            ssize_t r = pread(src_fd, buf, want, (off_t)(offset + done));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) { int e = r == 0 ? EIO : errno; free(buf); close(fd); errno = e; return -1; }
            ssize_t put = 0;
            while (put < r) {
                ssize_t x = write(fd, buf + put, (size_t)(r - put));
                if (x < 0 && errno == EINTR) continue;
                if (x <= 0) { int e = x == 0 ? EIO : errno; free(buf); close(fd); errno = e; return -1; }
                put += x;
            }
            w = r;
        }
        done += w;
    }
    free(buf);
    return fd;
}

int porter_limit_address_space(unsigned long long bytes) {
    struct rlimit core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &core);
    struct rlimit as = { (rlim_t)bytes, (rlim_t)bytes };
    struct rlimit now;
    // Never above a hard limit the process already has (raising it would fail): keep the lower one.
    if (getrlimit(RLIMIT_AS, &now) == 0 && now.rlim_max != RLIM_INFINITY && now.rlim_max < as.rlim_max) {
        as.rlim_max = now.rlim_max;
        if (as.rlim_cur > as.rlim_max) as.rlim_cur = as.rlim_max;
    }
    return setrlimit(RLIMIT_AS, &as);
}

int porter_die_with_parent(void) {
#if defined(__linux__)
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
    // The parent may have ended before the call took effect.
    return getppid() == 1 ? -1 : 0;
#else
    return 0;
#endif
}

unsigned long long porter_address_space_hard_limit(void) {
    struct rlimit now;
    if (getrlimit(RLIMIT_AS, &now) != 0 || now.rlim_max == RLIM_INFINITY) return 0;
    return (unsigned long long)now.rlim_max;
}
