// Depth-to-space with border crop, streaming (facevault, hw/depth_to_space.py is its Python model).
//
// Input:  an H x W map of F*F*C channels per pixel, channels ordered (phase row p, phase column q, c),
//         raster order, SIMD channels per word (C % SIMD == 0), AXI-stream valid/ready.
// Output: the (H*F - CROP_T - CROP_B) x (W*F - CROP_L - CROP_R) map of C channels,
//         out[Y*F + p - CROP_T][X*F + q - CROP_L][c] = in[Y][X][(p*F + q)*C + c], raster order, same words.
//
// With REPLICATE = 1 the input has C channels per pixel and every phase reads those same C channels:
// nearest-neighbour upsampling by F (then cropped).
//
// Two banks of one input row each (ping-pong): the writer fills one bank in input order while the reader
// emits the other in output order (rows p of the block, then pixels X and phase columns q, then the C/SIMD
// words of that phase), skipping the cropped rows and columns. A bank is released by the reader's last
// address and refilled by the writer from the next cycle. The memory has a registered read port (BRAM or
// LUTRAM); a 4-entry output queue decouples it from backpressure without a combinational ready path.
module depth_to_space #(
	int unsigned  H,             // input rows
	int unsigned  W,             // input columns
	int unsigned  F,             // block size
	int unsigned  C,             // output channels
	int unsigned  SIMD,          // channels per stream word
	int unsigned  ELEM_BITS,     // bits per channel value
	int unsigned  CROP_T = 0,    // output rows/columns removed, each < F
	int unsigned  CROP_L = 0,
	int unsigned  CROP_B = 0,
	int unsigned  CROP_R = 0,
	bit           REPLICATE = 0, // 1: input pixels of C channels, every phase the same (upsampling)
	parameter     RAM_STYLE = "auto",

	localparam int unsigned  WIDTH = SIMD * ELEM_BITS,
	localparam int unsigned  CW    = C / SIMD,           // words per phase of a pixel
	localparam int unsigned  WPP   = REPLICATE? CW : F * F * CW,  // words per input pixel
	localparam int unsigned  ROW   = W * WPP,            // words per input row: one bank
	localparam int unsigned  AW    = $clog2(2 * ROW)
)(
	input	logic  clk,
	input	logic  rst_n,

	input	logic [WIDTH-1:0]  idat,
	input	logic  ivld,
	output	logic  irdy,

	output	logic [WIDTH-1:0]  odat,
	output	logic  ovld,
	input	logic  ordy
);

	initial begin
		if(C % SIMD != 0)  $error("%m: SIMD must divide C.");
		if(CROP_T >= F || CROP_L >= F || CROP_B >= F || CROP_R >= F)  $error("%m: every crop must be < F.");
		if(H * F <= CROP_T + CROP_B || W * F <= CROP_L + CROP_R)  $error("%m: the crop leaves no output.");
	end

	(* ram_style = RAM_STYLE *)
	logic [WIDTH-1:0]  Mem[2*ROW];

	logic [1:0]  Full = '0;     // bank k holds a complete row not yet read out

	//-----------------------------------------------------------------------
	// Writer: input order into bank WrBank
	logic  WrBank = 0;
	logic [$clog2(ROW+1)-1:0]  WrPtr = 0;
	uwire  wr = ivld && irdy;
	uwire  wr_done = wr && (WrPtr == ROW-1);
	assign	irdy = !Full[WrBank];

	always_ff @(posedge clk) begin
		if(!rst_n) begin
			WrBank <= 0;
			WrPtr  <= 0;
		end
		else if(wr) begin
			WrPtr <= wr_done? 0 : WrPtr + 1;
			if(wr_done)  WrBank <= !WrBank;
		end
	end
	always_ff @(posedge clk) begin
		if(wr)  Mem[(WrBank? ROW : 0) + WrPtr] <= idat;
	end

	//-----------------------------------------------------------------------
	// Reader: output order from bank RdBank
	logic  RdBank = 0;
	logic [$clog2(H+1)-1:0]  Y  = 0;          // input row of the bank being read
	logic [$clog2(F+1)-1:0]  P  = CROP_T;     // phase row
	logic [$clog2(W+1)-1:0]  X  = 0;          // input column
	logic [$clog2(F+1)-1:0]  Q  = CROP_L;     // phase column
	logic [$clog2(CW+1)-1:0] Cw = 0;          // word within the phase

	logic [2:0]  Cnt = 0;                     // output queue occupancy
	logic        RdVld = 0;                   // a read is in flight to the queue
	uwire  issue = Full[RdBank] && (Cnt + RdVld < 4);

	uwire  last_w   = Cw == CW-1;
	uwire  last_col = (X == W-1) && (Q == F-1-CROP_R);
	uwire  last_p   = P == ((Y == H-1)? F-1-CROP_B : F-1);
	uwire  rd_done  = issue && last_w && last_col && last_p;
	uwire [AW-1:0]  rd_addr = (RdBank? ROW : 0) + X*WPP + (REPLICATE? 0 : (P*F + Q)*CW) + Cw;

	always_ff @(posedge clk) begin
		if(!rst_n) begin
			RdBank <= 0;  Y <= 0;  P <= CROP_T;  X <= 0;  Q <= CROP_L;  Cw <= 0;
		end
		else if(issue) begin
			Cw <= last_w? 0 : Cw + 1;
			if(last_w) begin
				if(!last_col) begin
					if(Q == F-1) begin
						Q <= 0;
						X <= X + 1;
					end
					else  Q <= Q + 1;
				end
				else begin
					X <= 0;
					Q <= CROP_L;
					if(!last_p)  P <= P + 1;
					else begin
						RdBank <= !RdBank;
						Y <= (Y == H-1)? 0 : Y + 1;
						P <= (Y == H-1)? CROP_T : 0;
					end
				end
			end
		end
	end

	// bank handshake
	always_ff @(posedge clk) begin
		if(!rst_n)  Full <= '0;
		else begin
			for(int unsigned  k = 0; k < 2; k++) begin
				if(wr_done && (WrBank == k))       Full[k] <= 1;
				else if(rd_done && (RdBank == k))  Full[k] <= 0;
			end
		end
	end

	//-----------------------------------------------------------------------
	// Registered read and output queue
	logic [WIDTH-1:0]  RdDat;
	always_ff @(posedge clk) begin
		if(issue)  RdDat <= Mem[rd_addr];
	end

	logic [WIDTH-1:0]  QBuf[4];
	logic [1:0]  QWr = 0;
	logic [1:0]  QRd = 0;
	uwire  pop = ovld && ordy;
	always_ff @(posedge clk) begin
		if(!rst_n) begin
			RdVld <= 0;  Cnt <= 0;  QWr <= 0;  QRd <= 0;
		end
		else begin
			RdVld <= issue;
			if(RdVld) begin
				QBuf[QWr] <= RdDat;
				QWr <= QWr + 1;
			end
			if(pop)  QRd <= QRd + 1;
			Cnt <= Cnt + RdVld - pop;
		end
	end
	assign	ovld = Cnt != 0;
	assign	odat = QBuf[QRd];

endmodule : depth_to_space
