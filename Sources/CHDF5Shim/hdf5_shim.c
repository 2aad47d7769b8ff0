#include "hdf5_shim.h"
#include <stdio.h>
#include <string.h>

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

void porter_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

struct porter_error_text { char *buf; size_t cap; size_t used; int count; };

static herr_t porter_walk(unsigned n, const H5E_error2_t *err, void *data) {
    struct porter_error_text *t = (struct porter_error_text *)data;
    (void)n;
    t->count++;
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
